package main

import (
	"log/slog"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// logUpstreamChoice says, before anything starts, which upstream the facade
// will call. With neither -sandbox nor an explicit -upstream-url
// (CLOUDCOCKPIT_BASE_URL) it is the production API, which a newcomer trying
// the facade rarely means: that is a warning. (The "listening" line that
// follows names the upstream URL and whether it is the sandbox.)
func logUpstreamChoice(log *slog.Logger, cfg server.Config) {
	switch {
	case cfg.Sandbox:
		log.Info("upstream: the embedded sandbox (-sandbox); no call leaves this process")
	case !cfg.UpstreamURLSet:
		log.Warn("upstream: the PRODUCTION CloudCockpit API, because neither -sandbox nor -upstream-url (CLOUDCOCKPIT_BASE_URL) is set; "+
			"use -sandbox to try the facade without it",
			slog.String("upstream", cfg.UpstreamURL), slog.Bool("sandbox", false))
	default:
		log.Info("upstream: "+cfg.UpstreamURL, slog.String("upstream", cfg.UpstreamURL), slog.Bool("sandbox", false))
	}
}
