package main

import _ "embed"

// developerManual is docs/protocol.md, the developer manual the portal
// serves (GET /portal/api/v1/manual) and its pages render.
//
//go:embed docs/protocol.md
var developerManual string
