-- credentials_public_pem finds an SM2 public key among every app's
-- credentials: a new key registered to another app already is refused
-- (aplApplyCredentialCreate). Without it that check read every credential,
-- each registration costing time in proportion to the registry's size.
CREATE INDEX credentials_public_pem ON credentials (public_pem);
