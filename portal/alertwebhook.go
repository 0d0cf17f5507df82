package portal

import (
	"context"
	"encoding/json"
	"time"

	"lijiang/platform"
)

// HeaderAlertID carries an alert webhook's alert id (the receiver's
// deduplication key), as LJ-Notice-Id does for notices.
const HeaderAlertID = "LJ-Alert-Id"

// AlertWebhookBody is the body of an alert webhook request.
type AlertWebhookBody struct {
	// ID is the alert's id (as in the LJ-Alert-Id header), so that
	// VerifyWebhook returns it as the notice id.
	ID    string               `json:"id"`
	Type  string               `json:"type"` // "alert"
	Alert platform.AlertRecord `json:"alert"`
}

// DeliverAlert sends a newly raised alert to the alert webhook URL (if one
// is set), signed and SSRF-guarded exactly as change notices are (the same
// sender, webhooks.go), retrying a failed attempt after
// Config.WebhookBackoff up to platform.WebhookMaxAttempts attempts. It
// returns at once; the attempts run in the background until ctx ends.
// Unlike notices, the attempts are not replicated: they live on the node
// that raised the alert (a node that stops mid-retry drops them; the alert
// itself stays in the replicated list).
func (s *Server) DeliverAlert(ctx context.Context, rec platform.AlertRecord) {
	u, err := s.store.AlertWebhookURL()
	if err != nil || u == "" {
		return
	}
	body, err := json.Marshal(AlertWebhookBody{ID: rec.ID, Type: "alert", Alert: rec})
	if err != nil {
		return
	}
	w := &webhooker{s: s, keys: platform.NewKeyOpener(s.cfg.Sealer)}
	ctx = context.WithoutCancel(ctx)
	go func() {
		for attempt := 1; attempt <= platform.WebhookMaxAttempts; attempt++ {
			priv, serial, err := w.signer()
			if err != nil {
				s.log.Error("alert webhook: cannot sign", "err", err)
				return
			}
			status, failure, giveUp := w.post(ctx, u, body, HeaderAlertID, rec.ID, attempt, priv, serial)
			if failure == "" {
				s.log.Info("alert webhook delivered", "alert", rec.ID, "attempt", attempt, "status", status)
				return
			}
			s.log.Warn("alert webhook attempt failed", "alert", rec.ID, "attempt", attempt, "status", status, "failure", failure)
			if giveUp || attempt == platform.WebhookMaxAttempts {
				return
			}
			time.Sleep(w.backoff(attempt))
		}
	}()
}
