package portal

import (
	"context"
	"encoding/json"

	"lijiang/platform"
)

// Alert webhook delivery (issue 12): replicated, like change notices'.
//
// When an alert is raised and an alert webhook URL is set, alert.raise makes
// a pending delivery in the same transaction (platform/alerts.go). The
// leader's delivery worker (webhooks.go, the same round as notices) POSTs
// each due one with the notices' sender (signed, SSRF-guarded, no redirects)
// and records every attempt with alert.delivery.attempt, whose command id is
// derived from the alert and the attempt number. A failed attempt is retried
// after Config.WebhookBackoff[attempt-1] (the last entry repeating), up to
// platform.WebhookMaxAttempts attempts, or not at all when retrying cannot
// help (the URL is not allowed); then the delivery fails. As the state is
// replicated, a node that stops mid-retry loses nothing: the next leader
// resumes the pending deliveries. Delivery is at least once; a receiver
// deduplicates by the alert id (the LJ-Alert-Id header, the body's "id").
//
// Only raises are delivered, the alert as raised (state open): an
// acknowledgement is made by a person through the admin API, and both it and
// a resolution are in the alert list and the change log.

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

// DeliverAlert is called for each alert newly raised through this node. The
// delivery itself was made replicated by the raise; DeliverAlert only wakes
// this node's delivery worker so that, when this node leads, the first
// attempt need not wait for the next poll. rec and ctx are not used.
func (s *Server) DeliverAlert(ctx context.Context, rec platform.AlertRecord) {
	s.nudgeWebhooks()
}

// deliverAlert makes one attempt at an alert's delivery and records it.
func (w *webhooker) deliverAlert(ctx context.Context, d platform.DueAlertDelivery) {
	s := w.s
	priv, serial, err := w.signer()
	if err != nil {
		// Not the receiver's fault: no attempt is counted.
		s.log.Error("alert webhook: cannot sign", "err", err)
		return
	}
	attempt := d.Attempts + 1
	var status int
	failure, giveUp := "encoding failed", true
	if body, err := json.Marshal(AlertWebhookBody{ID: d.Alert.ID, Type: "alert", Alert: d.Alert}); err == nil {
		status, failure, giveUp = w.post(ctx, d.URL, body, HeaderAlertID, d.Alert.ID, attempt, priv, serial)
	}
	if ctx.Err() != nil {
		return // shutting down: the attempt is not recorded and will be made again
	}
	p := platform.AlertDeliveryAttempt{AlertID: d.Alert.ID, Attempt: attempt, OK: failure == "", HTTPStatus: status, Error: failure}
	if p.OK {
		s.log.Info("alert webhook delivered", "alert", d.Alert.ID, "attempt", attempt, "status", status)
	} else {
		s.log.Warn("alert webhook attempt failed", "alert", d.Alert.ID, "attempt", attempt, "status", status, "failure", failure)
		if !giveUp && attempt < platform.WebhookMaxAttempts {
			p.NextAttemptMs = s.now().Add(w.backoff(attempt)).UnixMilli()
		}
	}
	w.record(ctx, platform.AlertDeliveryCommandID(d.Alert.ID, attempt), platform.CmdAlertDeliveryAttempt, p, "alert", d.Alert.ID, attempt)
}
