package lj1

// AppProfile is the file format of an app's calling profile: what a client
// needs to call the gateway as an app. `serve --demo` writes one per demo
// app under data/demo/; an applicant's developer writes their own by hand;
// the Go SDK's LoadProfile and `lijiang call --app FILE` read it. Key and
// secret files are paths (relative ones to the working directory), never the
// keys themselves.
type AppProfile struct {
	// BaseURL is the gateway, e.g. https://127.0.0.1:8443.
	BaseURL string `json:"base_url"`
	// AppID is the App_ID.
	AppID string `json:"app_id"`
	// SignSerial and SignKeyFile: the serial of the app's SM2 signing
	// credential and its private key (PKCS#8 PEM).
	SignSerial  string `json:"sign_serial"`
	SignKeyFile string `json:"sign_key_file"`
	// SecretSerial and SecretFile: the serial of an App_Secret credential and
	// the file holding the secret (for LJ1-HMAC-SM3 calls, A1 APIs only).
	SecretSerial string `json:"secret_serial,omitempty"`
	SecretFile   string `json:"secret_file,omitempty"`
	// EncKeyFile is the app's SM2 encryption private key, to open encrypted
	// answers.
	EncKeyFile string `json:"enc_key_file,omitempty"`
	// EncSerial is the serial of the app's SM2 encryption credential
	// (EncKeyFile's public half, as registered). When set, every request
	// names it in LJ-Encrypt-Serial, so the gateway encrypts answers to this
	// key; empty: the gateway picks the app's current encryption key.
	EncSerial string `json:"enc_serial,omitempty"`
	// CAFile is the CA certificate (PEM) to trust for the gateway's TLS;
	// empty: the system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// RedirectURI is the app's registered redirect URI, for the consent flow.
	RedirectURI string `json:"redirect_uri,omitempty"`
}
