package server

import "log/slog"

// warnProductionDefault warns, once the server listens, when calls will go
// to the production CloudCockpit API only because neither Sandbox nor an
// explicit Upstream.BaseURL was set: a newcomer trying the facade rarely means
// that.
func warnProductionDefault(log *slog.Logger, cfg Config) {
	if cfg.Sandbox || cfg.UpstreamURLSet {
		return
	}
	log.Warn("calls go to the PRODUCTION CloudCockpit API, because neither -sandbox nor -upstream-url (CLOUDCOCKPIT_BASE_URL) is set; "+
		"use -sandbox to try the facade without it",
		slog.String("upstream", cfg.Upstream.BaseURL), slog.Bool("sandbox", false))
}
