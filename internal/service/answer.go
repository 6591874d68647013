package service

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// sameGUID reports whether got is the GUID asked, compared as GUIDs (so in
// any casing, and in any of the forms uuid.Parse accepts). A missing or
// malformed got is not.
func sameGUID(asked string, got *string) bool {
	if got == nil {
		return false
	}
	a, err := uuid.Parse(asked)
	if err != nil {
		return false
	}
	g, err := uuid.Parse(*got)
	return err == nil && a == g
}

// checkReseller returns a rest.KindMismatch error, after logging it and
// counting it (WithOnMismatchedAnswer), when r is not the reseller asked
// for; nil otherwise. Such an answer is never returned to the caller
// (defence in depth against answers mixed up between callers, by a
// desynchronised connection or a faulty layer in between).
func (c *call) checkReseller(ctx context.Context, cfg config, asked string, r *rest.Reseller) error {
	if sameGUID(asked, r.ID) {
		return nil
	}
	got := "<none>"
	if r.ID != nil {
		got = apierr.NewRedactor(c.info.Authorization).String(apierr.Truncate(*r.ID, 64))
	}
	cfg.logger.LogAttrs(ctx, slog.LevelWarn, "upstream answer rejected: its id is not the one asked for",
		slog.String("operation", c.op), slog.String("asked_id", asked), slog.String("answer_id", got),
		slog.String("tenant", c.info.Tenant), slog.String("correlation_id", c.correlationID))
	if cfg.onMismatchedAnswer != nil {
		cfg.onMismatchedAnswer(c.op)
	}
	return &rest.Error{Kind: rest.KindMismatch}
}
