package node

import (
	"context"
	"time"
)

// defaultCertReloadInterval is how often a node looks at its certificate
// files for a renewed certificate.
const defaultCertReloadInterval = 10 * time.Second

// certWarnBefore is how long before its certificate expires a node warns
// in its log (each look, once a day at most): cert-manager renews 30 days
// ahead, so a certificate this close to its end was not renewed.
const certWarnBefore = 14 * 24 * time.Hour

// reloadCertificate takes a renewed certificate from the node's files
// (pki.Bundle.Reload) every CertReloadInterval, until ctx ends: new
// connections present it, and what the node signs from then on is signed
// with its key. Connections open at the renewal keep the one they began
// with. A renewal that does not make a good bundle is logged and the
// certificate in use kept. The certificate's end is the metric
// yizhan_tls_cert_expiry_timestamp_seconds.
func (n *Node) reloadCertificate(ctx context.Context) {
	every := n.cfg.CertReloadInterval
	if every == 0 {
		every = defaultCertReloadInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var warned time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := n.cfg.TLS.Reload()
		switch {
		case err != nil:
			n.log.Error("node certificate: the files changed but were not taken (the certificate in use is kept)", "err", err)
		case changed:
			n.log.Info("node certificate renewed from its files", "not_after", n.cfg.TLS.NotAfter())
		}
		if left := time.Until(n.cfg.TLS.NotAfter()); left < certWarnBefore && time.Since(warned) > 24*time.Hour {
			warned = time.Now()
			n.log.Warn("node certificate expires soon: renew it (the node takes the renewed files without a restart)",
				"not_after", n.cfg.TLS.NotAfter(), "left", left.Round(time.Hour))
		}
	}
}
