-- 0007: the upstream's client key (catalogue_upstream.go). An API's CA bundle,
-- client certificate and trusted-zone declaration are part of its spec; the
-- client certificate's private key is not, as the spec is shown and logged in
-- api_changes: it is kept here, sealed with the key-encryption key and aad
-- "api_upstream_key/<id>", NULL for an API without a client certificate.
ALTER TABLE apis ADD COLUMN upstream_key_sealed BLOB;
