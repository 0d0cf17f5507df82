package portal

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
	"lijiang/platform/lj1"
	"lijiang/platform/smcrypto"
)

// The API catalogue, grants and notices over HTTP (R-6.2, R-7.3.1, R-10.3,
//
//
// Admin API: operators (and admins) write the catalogue and its life cycle;
// operators and reviewers (and admins) grant and revoke; every admin role
// reads. Portal API: developers read the published catalogue (also as an
// OpenAPI 3.1 document) and their applicants' notices.

func init() {
	adminMounts = append(adminMounts, mountAdminCatalogue)
	portalMounts = append(portalMounts, mountPortalCatalogue)
}

func mountAdminCatalogue(s *Server, g *echo.Group) {
	op := s.requireAdmin(platform.RoleOperator)
	granter := s.requireAdmin(platform.RoleOperator, platform.RoleReviewer)
	read := s.requireAdmin()

	g.GET("/apis", s.listAPIs, read)
	s.doc("admin", "GET", "/apis", "List APIs; filters status, level, method, api_version, q (in the name or path)", nil, List[apiJSON]{})
	g.POST("/apis", s.createAPI, op)
	s.doc("admin", "POST", "/apis", "Create a draft API (operator); an A2 API's upstream is https:// (its CA bundle in upstream.ca_pem, a client certificate in upstream.client_cert_pem with its key in upstream.client_key_pem, kept sealed and never shown), loopback http://, or http:// with upstream.trusted_zone", apiCreateRequest{}, apiJSON{})
	g.GET("/apis/:id", s.getAPI, read)
	s.doc("admin", "GET", "/apis/{id}", "One API, with its ETag", nil, apiJSON{})
	g.PUT("/apis/:id", s.updateAPI, op)
	s.doc("admin", "PUT", "/apis/{id}", "Replace an API's spec; needs If-Match; a published API needs a summary, sent to the applicants granted it; the upstream's client key is kept while upstream.client_cert_pem stays the same, a new certificate needs its upstream.client_key_pem (operator)", apiUpdateRequest{}, apiJSON{})
	g.POST("/apis/:id/publish", s.publishAPI, op)
	s.doc("admin", "POST", "/apis/{id}/publish", "Publish a draft API, or withdraw a deprecation; needs If-Match; optional body {summary} (operator)", transitionRequest{}, apiJSON{})
	g.POST("/apis/:id/deprecate", s.deprecateAPI, op)
	s.doc("admin", "POST", "/apis/{id}/deprecate", "Deprecate a published API with a future sunset, or move the sunset; needs If-Match (operator)", deprecateRequest{}, apiJSON{})
	g.POST("/apis/:id/retire", s.retireAPI, op)
	s.doc("admin", "POST", "/apis/{id}/retire", "Retire a draft, or a deprecated API once its sunset has come; removes its grants; needs If-Match (operator)", transitionRequest{}, apiJSON{})
	g.GET("/apis/:id/changes", s.listAPIChanges, read)
	s.doc("admin", "GET", "/apis/{id}/changes", "List the API's change log, newest first", nil, List[platform.APIChange]{})
	g.GET("/apis/:id/grants", s.listAPIGrants, read)
	s.doc("admin", "GET", "/apis/{id}/grants", "List the apps granted the API", nil, List[grantJSON]{})

	g.GET("/apps/:app_id/grants", s.listAppGrants, read)
	s.doc("admin", "GET", "/apps/{app_id}/grants", "List the APIs granted to an app, with effective limits", nil, List[grantJSON]{})
	g.PUT("/apps/:app_id/grants/:api_id", s.putGrant, granter)
	s.doc("admin", "PUT", "/apps/{app_id}/grants/{api_id}", "Grant an active sandbox app a published API, or change the grant's limits; optional body {limits}. On a production app this proposes the grant: 202 with a grant proposal for another reviewer to approve (operator, reviewer)", grantRequest{}, grantJSON{})
	g.DELETE("/apps/:app_id/grants/:api_id", s.deleteGrant, granter)
	s.doc("admin", "DELETE", "/apps/{app_id}/grants/{api_id}", "Revoke a grant (operator, reviewer)", nil, nil)

	g.GET("/notices", s.listNoticesAdmin, read)
	s.doc("admin", "GET", "/notices", "List notices to applicants with their webhook delivery state; filters applicant_id, kind, api_id, delivery_status", nil, List[noticeJSON]{})
}

func mountPortalCatalogue(s *Server, g *echo.Group) {
	dev := s.requireDeveloper()
	g.GET("/catalogue", s.listCatalogue, dev)
	s.doc("portal", "GET", "/catalogue", "List the published catalogue (published and deprecated APIs); filters level, q", nil, List[catalogueEntry]{})
	g.GET("/catalogue/openapi.json", s.catalogueOpenAPI, dev)
	s.doc("portal", "GET", "/catalogue/openapi.json", "The published catalogue as an OpenAPI 3.1 document (LJ1 security, x-lijiang-level)", nil, nil)
	g.GET("/catalogue/:id", s.getCatalogueEntry, dev)
	s.doc("portal", "GET", "/catalogue/{id}", "One published API; Deprecation and Sunset headers when deprecated", nil, catalogueEntry{})
	g.GET("/notices", s.listMyNotices, dev)
	s.doc("portal", "GET", "/notices", "List my applicants' notices, newest first; filter applicant_id", nil, List[noticeJSON]{})
}

// ---- JSON shapes -----------------------------------------------------------------

// apiJSON is an API as the admin API shows it. Link (upstream_link) is
// platform.Upstream.Link: "tls", "loopback", "plain-trusted-zone" or (A1
// only) "plain". The upstream's client key is never shown.
type apiJSON struct {
	ID string `json:"id"`
	platform.APISpec
	Link       string     `json:"upstream_link"`
	Status     string     `json:"status"`
	Version    int64      `json:"version"`
	Sunset     *time.Time `json:"sunset,omitempty"`
	Created    time.Time  `json:"created"`
	Updated    time.Time  `json:"updated"`
	Published  *time.Time `json:"published,omitempty"`
	Deprecated *time.Time `json:"deprecated,omitempty"`
	Retired    *time.Time `json:"retired,omitempty"`
	CreatedBy  string     `json:"created_by"`
	UpdatedBy  string     `json:"updated_by"`
}

// msTime is a Unix-milliseconds time, nil for 0.
func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func toAPIJSON(a *platform.API) apiJSON {
	spec := a.APISpec
	if spec.Masking == nil {
		spec.Masking = []platform.MaskRule{}
	}
	return apiJSON{ID: a.ID, APISpec: spec, Link: a.Upstream.Link(), Status: a.Status, Version: a.Version, Sunset: msTime(a.SunsetMs),
		Created: time.UnixMilli(a.CreatedMs).UTC(), Updated: time.UnixMilli(a.UpdatedMs).UTC(), Published: msTime(a.PublishedMs),
		Deprecated: msTime(a.DeprecatedMs), Retired: msTime(a.RetiredMs), CreatedBy: a.CreatedBy, UpdatedBy: a.UpdatedBy}
}

// upstreamRequest is an upstream as the admin API takes it: the spec's, and
// the private key of its client certificate (PEM), which is sealed at once
// and never stored or shown in clear.
type upstreamRequest struct {
	platform.Upstream
	ClientKeyPEM string `json:"client_key_pem,omitempty" doc:"the PEM private key of client_cert_pem, kept sealed and never shown; on an update, needed with a new certificate only"`
}

// apiCreateRequest is an API spec with its upstream's client key.
type apiCreateRequest struct {
	platform.APISpec
	Upstream upstreamRequest `json:"upstream" oa:"required"` // in place of the spec's
}

type apiUpdateRequest struct {
	// Summary says what changed; required once the API is published.
	Summary string `json:"summary,omitempty" doc:"what changed, sent to the applicants granted the API; required once it is published"`
	platform.APISpec
	Upstream upstreamRequest `json:"upstream" oa:"required"` // in place of the spec's
}

type transitionRequest struct {
	Summary string `json:"summary,omitempty" doc:"a note to the applicants granted the API"`
}

type deprecateRequest struct {
	// Sunset is when the API will be retired (RFC 3339), in the future.
	Sunset  time.Time `json:"sunset" oa:"required" doc:"when the API will be retired, in the future"`
	Summary string    `json:"summary,omitempty" doc:"a note to the applicants granted the API"`
}

type grantRequest struct {
	// Limits override the API's default limits (absent fields keep them).
	Limits *platform.LimitsOverride `json:"limits,omitempty" doc:"the grant's own limits; absent fields keep the API's"`
}

type grantJSON struct {
	AppID     string                  `json:"app_id"`
	APIID     string                  `json:"api_id"`
	APIName   string                  `json:"api_name,omitempty"`
	Limits    platform.LimitsOverride `json:"limits"`
	Effective platform.Limits         `json:"effective_limits"`
	GrantedBy string                  `json:"granted_by"`
	Granted   time.Time               `json:"granted"`
}

func toGrantJSON(v *platform.CatalogueView, g platform.Grant) grantJSON {
	out := grantJSON{AppID: g.AppID, APIID: g.APIID, Limits: g.Limits, GrantedBy: g.GrantedBy, Granted: time.UnixMilli(g.GrantedMs).UTC()}
	if a, ok := v.API(g.APIID); ok {
		out.APIName = a.Name
		out.Effective = g.Limits.Apply(a.Limits)
	}
	return out
}

// grantsJSON shows grants as toGrantJSON does (never nil).
func grantsJSON(v *platform.CatalogueView, grants []platform.Grant) []grantJSON {
	out := []grantJSON{}
	for _, g := range grants {
		out = append(out, toGrantJSON(v, g))
	}
	return out
}

type deliveryJSON struct {
	Status      string     `json:"status"`
	URL         string     `json:"url,omitempty"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Delivered   *time.Time `json:"delivered,omitempty"`
}

// noticeJSON is a notice with its webhook delivery.
type noticeJSON struct {
	platform.Notice
	Delivery *deliveryJSON `json:"delivery,omitempty"`
}

func toNoticeJSON(n platform.NoticeWithDelivery) noticeJSON {
	out := noticeJSON{Notice: n.Notice}
	if d := n.Delivery; d != nil {
		out.Delivery = &deliveryJSON{Status: d.Status, URL: d.URL, Attempts: d.Attempts, LastAttempt: msTime(d.LastAttemptMs),
			LastStatus: d.LastStatus, LastError: d.LastError, Delivered: msTime(d.DeliveredMs)}
		if d.Status == platform.DeliveryPending {
			out.Delivery.NextAttempt = msTime(d.NextAttemptMs)
		}
	}
	return out
}

// catalogueEntry is a published API as developers see it: no upstream, no
// retention policy.
type catalogueEntry struct {
	ID string `json:"id"`
	platform.APIContract
	Masking      []platform.MaskRule `json:"masking"`
	Limits       platform.Limits     `json:"limits"`
	UpstreamLink string              `json:"upstream_link"` // how the bank's side is reached: tls, loopback, plain-trusted-zone, plain
	Status       string              `json:"status"`
	Deprecated   bool                `json:"deprecated"`
	Sunset       *time.Time          `json:"sunset,omitempty"`
	Published    *time.Time          `json:"published,omitempty"`
	Version      int64               `json:"version"`
}

func toCatalogueEntry(a *platform.API) catalogueEntry {
	e := catalogueEntry{ID: a.ID, APIContract: a.APIContract, Masking: a.Masking, Limits: a.Limits,
		UpstreamLink: a.Upstream.Link(), Status: a.Status, Deprecated: a.Status == platform.APIDeprecated, Sunset: msTime(a.SunsetMs), Published: msTime(a.PublishedMs),
		Version: a.Version}
	// The compact schema documents in effect (ParamSchema), not as written.
	e.Params = platform.ParamSchemas{Path: a.ParamSchema(platform.ParamInPath), Query: a.ParamSchema(platform.ParamInQuery),
		Body: a.ParamSchema(platform.ParamInBody), Headers: a.Params.Headers}
	if e.Masking == nil {
		e.Masking = []platform.MaskRule{}
	}
	return e
}

// ---- admin: APIs -------------------------------------------------------------------

func (s *Server) catalogue() *platform.CatalogueView { return s.store.Registry().Catalogue }

func (s *Server) listAPIs(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	status, level, method, version, text := q.Get("status"), q.Get("level"), strings.ToUpper(q.Get("method")), q.Get("api_version"), strings.ToLower(q.Get("q"))
	switch status {
	case "", platform.APIDraft, platform.APIPublished, platform.APIDeprecated, platform.APIRetired:
	default:
		return badRequest("status", "must be draft, published, deprecated or retired")
	}
	if level != "" && level != platform.LevelA1 && level != platform.LevelA2 {
		return badRequest("level", "must be A1 or A2")
	}
	items := []apiJSON{}
	for _, a := range s.catalogue().APIs() {
		if status != "" && a.Status != status || level != "" && a.Level != level || method != "" && a.Method != method ||
			version != "" && a.APIVersion != version ||
			text != "" && !strings.Contains(strings.ToLower(a.Name), text) && !strings.Contains(strings.ToLower(a.Path), text) {
			continue
		}
		items = append(items, toAPIJSON(a))
	}
	return c.JSON(http.StatusOK, paginate(items, pg))
}

// apiParam returns the API named by the :id path parameter.
func (s *Server) apiParam(c echo.Context) (*platform.API, error) { return s.apiByID(c, c.Param("id")) }

// apiByID returns the API id, as changeOf loads a record.
func (s *Server) apiByID(_ echo.Context, id string) (*platform.API, error) {
	a, ok := s.catalogue().API(id)
	if !ok {
		return nil, notFound("API")
	}
	return a, nil
}

func (s *Server) getAPI(c echo.Context) error {
	a, err := s.apiParam(c)
	if err != nil {
		return err
	}
	setETag(c, a.Version)
	return c.JSON(http.StatusOK, toAPIJSON(a))
}

// answerAPI renders the API a command answered with.
func (s *Server) answerAPI(c echo.Context, res platform.Result, status int) error {
	var a platform.API
	if err := resultInto(res, &a); err != nil {
		return err
	}
	setETag(c, a.Version)
	return c.JSON(status, toAPIJSON(&a))
}

func (s *Server) createAPI(c echo.Context) error {
	var req apiCreateRequest
	if err := s.bind(c, &req); err != nil {
		return err
	}
	p := platform.APICreate{ID: platform.NewID("api"), APISpec: req.APISpec}
	res, err := s.proposeSpec(c, platform.CmdAPICreate, &p, p.ID, &p.APISpec, &p.UpstreamKeySealed, req.Upstream)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", AdminPrefix+"/apis/"+p.ID)
	return s.answerAPI(c, res, http.StatusCreated)
}

func (s *Server) updateAPI(c echo.Context) error {
	var req apiUpdateRequest
	_, expected, err := changeOf(s, c, s.apiByID, &req, s.bind)
	if err != nil {
		return err
	}
	p := platform.APIUpdate{ID: c.Param("id"), ExpectedVersion: expected, Summary: req.Summary, APISpec: req.APISpec}
	res, err := s.proposeSpec(c, platform.CmdAPIUpdate, &p, p.ID, &p.APISpec, &p.UpstreamKeySealed, req.Upstream)
	if err != nil {
		return err
	}
	return s.answerAPI(c, res, http.StatusOK)
}

// proposeSpec proposes p, an API create or update of API id whose spec is
// *spec: the spec takes the request's upstream, whose client key, if given,
// is sealed into *sealed; then p is validated, the key checked against the
// certificate, and the command proposed.
func (s *Server) proposeSpec(c echo.Context, typ string, p interface{ Validate() error }, id string, spec *platform.APISpec, sealed *[]byte, up upstreamRequest) (platform.Result, error) {
	spec.Upstream = up.Upstream
	var err error
	if *sealed, err = s.sealUpstreamKey(id, up); err != nil {
		return platform.Result{}, err
	}
	if err := p.Validate(); err != nil {
		return platform.Result{}, err
	}
	if err := checkUpstreamKeyPair(up); err != nil {
		return platform.Result{}, err
	}
	return s.exec(c, typ, 1, p)
}

// sealUpstreamKey seals the upstream's client key, if given, for the API id.
// The key is checked against the certificate once the spec is valid
// (checkUpstreamKeyPair), so that a bad certificate is reported as such.
func (s *Server) sealUpstreamKey(id string, up upstreamRequest) ([]byte, error) {
	if up.ClientKeyPEM == "" {
		return nil, nil
	}
	key := []byte(up.ClientKeyPEM)
	defer smcrypto.Wipe(key)
	sealed, err := s.cfg.Sealer.Seal(platform.UpstreamKeyAAD(id), key)
	if err != nil {
		return nil, fmt.Errorf("sealing the upstream client key: %w", err)
	}
	return sealed, nil
}

// checkUpstreamKeyPair checks that a given client key is the private key of
// the upstream's client certificate.
func checkUpstreamKeyPair(up upstreamRequest) error {
	if up.ClientKeyPEM == "" {
		return nil
	}
	key := []byte(up.ClientKeyPEM)
	defer smcrypto.Wipe(key)
	if _, err := tls.X509KeyPair([]byte(up.ClientCertPEM), key); err != nil {
		return badRequest("upstream.client_key_pem", "must be the PEM private key of upstream.client_cert_pem")
	}
	return nil
}

func (s *Server) transitionAPI(c echo.Context, typ string) error {
	var req transitionRequest
	_, expected, err := changeOf(s, c, s.apiByID, &req, s.bindOptional)
	if err != nil {
		return err
	}
	p := platform.APITransition{ID: c.Param("id"), ExpectedVersion: expected, Summary: req.Summary}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.exec(c, typ, 1, p)
	if err != nil {
		return err
	}
	return s.answerAPI(c, res, http.StatusOK)
}

func (s *Server) publishAPI(c echo.Context) error { return s.transitionAPI(c, platform.CmdAPIPublish) }
func (s *Server) retireAPI(c echo.Context) error  { return s.transitionAPI(c, platform.CmdAPIRetire) }

func (s *Server) deprecateAPI(c echo.Context) error {
	var req deprecateRequest
	_, expected, err := changeOf(s, c, s.apiByID, &req, s.bind)
	if err != nil {
		return err
	}
	if req.Sunset.IsZero() {
		return badRequest("sunset", "is required (RFC 3339)")
	}
	if !req.Sunset.After(s.now()) {
		return badRequest("sunset", "must be in the future")
	}
	p := platform.APIDeprecate{ID: c.Param("id"), ExpectedVersion: expected, SunsetMs: req.Sunset.UnixMilli(), Summary: req.Summary}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.exec(c, platform.CmdAPIDeprecate, 1, p)
	if err != nil {
		return err
	}
	return s.answerAPI(c, res, http.StatusOK)
}

func (s *Server) listAPIChanges(c echo.Context) error {
	if _, err := s.apiParam(c); err != nil {
		return err
	}
	return listPage(s, c, func(pg Page) ([]platform.APIChange, int, error) {
		return s.store.ListAPIChanges(c.Param("id"), pg.Limit, pg.Offset)
	})
}

// ---- admin: grants -----------------------------------------------------------------

func (s *Server) listAPIGrants(c echo.Context) error {
	if _, err := s.apiParam(c); err != nil {
		return err
	}
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	v := s.catalogue()
	return c.JSON(http.StatusOK, paginate(grantsJSON(v, v.GrantsFor(c.Param("id"))), pg))
}

// appExists reports whether the app is known.
func (s *Server) appExists(appID string) (bool, error) {
	_, err := s.store.App(appID)
	var ce *platform.CommandError
	if errors.As(err, &ce) && ce.Code == platform.CodeNotFound {
		return false, nil
	}
	return err == nil, err
}

func (s *Server) listAppGrants(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	if ok, err := s.appExists(c.Param("app_id")); err != nil {
		return err
	} else if !ok {
		return notFound("app")
	}
	v := s.catalogue()
	return c.JSON(http.StatusOK, paginate(grantsJSON(v, v.GrantsOf(c.Param("app_id"))), pg))
}

func (s *Server) putGrant(c echo.Context) error {
	var req grantRequest
	if err := s.bindOptional(c, &req); err != nil {
		return err
	}
	p := platform.GrantSet{AppID: c.Param("app_id"), APIID: c.Param("api_id"), Limits: req.Limits}
	if err := p.Validate(); err != nil {
		return err
	}
	if prod, err := s.isProductionApp(p.AppID); err != nil {
		return err
	} else if prod {
		return s.proposeGrant(c, p) // grant_proposals.go: another reviewer approves
	}
	_, existed := s.catalogue().Grant(p.AppID, p.APIID)
	g, err := execResult[platform.Grant](s, c, platform.CmdGrantSet, 1, p)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	return c.JSON(status, toGrantJSON(s.catalogue(), g))
}

func (s *Server) deleteGrant(c echo.Context) error {
	p := platform.GrantRevoke{AppID: c.Param("app_id"), APIID: c.Param("api_id")}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.exec(c, platform.CmdGrantRevoke, 1, p); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ---- notices -----------------------------------------------------------------------

func (s *Server) listNotices(c echo.Context, f platform.NoticeFilter) error {
	return listPage(s, c, func(pg Page) ([]noticeJSON, int, error) {
		q := c.QueryParams()
		f.Kind, f.APIID, f.DeliveryStatus = q.Get("kind"), q.Get("api_id"), q.Get("delivery_status")
		switch f.DeliveryStatus {
		case "", platform.DeliveryPending, platform.DeliveryDelivered, platform.DeliveryFailed, platform.DeliverySkipped:
		default:
			return nil, 0, badRequest("delivery_status", "must be pending, delivered, failed or skipped")
		}
		rows, total, err := s.store.ListNotices(f, pg.Limit, pg.Offset)
		return shown(rows, total, err, toNoticeJSON)
	})
}

func (s *Server) listNoticesAdmin(c echo.Context) error {
	f := platform.NoticeFilter{AllApplicants: true}
	if a := c.QueryParam("applicant_id"); a != "" {
		f = platform.NoticeFilter{ApplicantIDs: []string{a}}
	}
	return s.listNotices(c, f)
}

// myApplicants returns the ids of the applicants the developer owns.
func (s *Server) ownedApplicantIDs(developerID string) ([]string, error) {
	return s.store.ApplicantIDsOwnedBy(developerID)
}

func (s *Server) listMyNotices(c echo.Context) error {
	mine, err := s.ownedApplicantIDs(principalOf(c).ID)
	if err != nil {
		return err
	}
	if a := c.QueryParam("applicant_id"); a != "" {
		found := false
		for _, id := range mine {
			found = found || id == a
		}
		if !found {
			return notFound("applicant")
		}
		mine = []string{a}
	}
	return s.listNotices(c, platform.NoticeFilter{ApplicantIDs: mine})
}

// ---- portal: the published catalogue -------------------------------------------------

// publishedAPIs returns the callable APIs, by path and method.
func (s *Server) publishedAPIs() []*platform.API {
	var out []*platform.API
	for _, a := range s.catalogue().APIs() {
		if a.Callable() {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) listCatalogue(c echo.Context) error {
	pg, err := s.page(c)
	if err != nil {
		return err
	}
	level, text := c.QueryParam("level"), strings.ToLower(c.QueryParam("q"))
	if level != "" && level != platform.LevelA1 && level != platform.LevelA2 {
		return badRequest("level", "must be A1 or A2")
	}
	items := []catalogueEntry{}
	for _, a := range s.publishedAPIs() {
		if level != "" && a.Level != level ||
			text != "" && !strings.Contains(strings.ToLower(a.Name), text) && !strings.Contains(strings.ToLower(a.Path), text) {
			continue
		}
		items = append(items, toCatalogueEntry(a))
	}
	return c.JSON(http.StatusOK, paginate(items, pg))
}

func (s *Server) getCatalogueEntry(c echo.Context) error {
	a, ok := s.catalogue().API(c.Param("id"))
	if !ok || !a.Callable() {
		return notFound("API")
	}
	if a.Status == platform.APIDeprecated {
		// RFC 9745 (Deprecation) and RFC 8594 (Sunset).
		c.Response().Header().Set("Deprecation", "@"+strconv.FormatInt(a.DeprecatedMs/1000, 10))
		if a.SunsetMs != 0 {
			c.Response().Header().Set("Sunset", time.UnixMilli(a.SunsetMs).UTC().Format(http.TimeFormat))
		}
	}
	setETag(c, a.Version)
	return c.JSON(http.StatusOK, toCatalogueEntry(a))
}

func (s *Server) catalogueOpenAPI(c echo.Context) error {
	var urls [2]string
	if u := s.publicURLs.Load(); u != nil {
		urls = *u
	}
	return c.JSON(http.StatusOK, CatalogueOpenAPI(s.publishedAPIs(), urls[0], urls[1]))
}

// decodeSchema decodes a schema document for embedding in a document,
// keeping numbers exact.
func decodeSchema(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// CatalogueOpenAPI renders APIs as an OpenAPI 3.1 document: a path per
// template, parameters and request bodies from the APIs' schemas, the LJ1
// schemes as security schemes, and Lijiang's extensions on each operation:
// x-lijiang-level (A1/A2), x-lijiang-api-id, x-lijiang-api-version,
// x-lijiang-upstream-link (platform.Upstream.Link),
// x-lijiang-consent-scope (APIs acting for a user), x-lijiang-encrypted (A2:
// bodies are LJ1 envelopes), x-lijiang-sunset (deprecated APIs) and
// x-lijiang-business-errors (the service's own error codes, each also a
// response with its status). The 200 answer has the API's response schema
// and example, the request body its example (catalogue_docs.go).
//
// production and sandbox are the gateway's public base URLs, listed as the
// servers; "" lists the relative server "/".
func CatalogueOpenAPI(apis []*platform.API, production, sandbox string) map[string]any {
	paths := map[string]any{}
	for _, a := range apis {
		op := map[string]any{
			"operationId":           a.ID,
			"summary":               a.Name,
			"x-lijiang-api-id":      a.ID,
			"x-lijiang-level":       a.Level,
			"x-lijiang-api-version": a.APIVersion,
			// How the gateway reaches the bank's side.
			"x-lijiang-upstream-link": a.Upstream.Link(),
		}
		if a.Description != "" {
			op["description"] = a.Description
		}
		var params []any
		if p := decodeSchema(a.ParamSchema(platform.ParamInPath)); p != nil {
			props, _ := p["properties"].(map[string]any)
			for _, name := range a.PathParams() {
				params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": props[name]})
			}
		}
		if q := decodeSchema(a.ParamSchema(platform.ParamInQuery)); q != nil {
			props, _ := q["properties"].(map[string]any)
			required := map[string]bool{}
			if list, ok := q["required"].([]any); ok {
				for _, r := range list {
					if s, ok := r.(string); ok {
						required[s] = true
					}
				}
			}
			names := make([]string, 0, len(props))
			for n := range props {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				p := map[string]any{"name": n, "in": "query", "required": required[n], "schema": props[n]}
				if sch, _ := props[n].(map[string]any); sch["type"] == "array" {
					p["style"], p["explode"] = "form", true
				}
				params = append(params, p)
			}
		}
		for _, h := range a.Params.Headers {
			p := map[string]any{"name": h.Name, "in": "header", "required": h.Required, "schema": map[string]any{"type": "string"}}
			if h.Description != "" {
				p["description"] = h.Description
			}
			params = append(params, p)
		}
		if a.ActsForUser {
			params = append(params, map[string]any{"name": "LJ-User-Token", "in": "header", "required": true,
				"schema": map[string]any{"type": "string"}, "description": "the customer's user token (consent scope " + a.ConsentScope + ")"})
			op["x-lijiang-consent-scope"] = a.ConsentScope
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		a2 := a.Level == platform.LevelA2
		if b := decodeSchema(a.ParamSchema(platform.ParamInBody)); b != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": b}}}
		}
		if a2 {
			op["x-lijiang-encrypted"] = true
			op["security"] = []any{map[string]any{"LJ1-SM2-SM3": []any{}}}
		} else {
			op["security"] = []any{map[string]any{"LJ1-SM2-SM3": []any{}}, map[string]any{"LJ1-HMAC-SM3": []any{}}}
		}
		if a.Status == platform.APIDeprecated {
			op["deprecated"] = true
			if a.SunsetMs != 0 {
				op["x-lijiang-sunset"] = time.UnixMilli(a.SunsetMs).UTC().Format(time.RFC3339)
			}
		}
		responses := map[string]any{
			"200": map[string]any{"description": "the service's answer, signed (LJ-Signature); encrypted for A2 APIs"},
			"default": map[string]any{"description": "an LJ1 error of the gateway (LJ1Error), or a 4xx answer of the service as it is (ServiceError)",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"anyOf": []any{
					map[string]any{"$ref": "#/components/schemas/LJ1Error"}, map[string]any{"$ref": "#/components/schemas/ServiceError"}}}}}},
		}
		op["responses"] = responses
		documentAnswers(op, a, responses)
		item, _ := paths[a.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[a.Path] = item
		}
		item[strings.ToLower(a.Method)] = op
	}
	scheme := func(name, desc string) map[string]any {
		return map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": name + ": " + desc}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Lijiang open APIs", "version": "1",
			"description": "The bank's published open APIs. Calls follow the LJ1 protocol (see the developer manual): every request is signed in the Authorization header, every response carries LJ-Signature; A2 bodies travel in SM2-SM4-GCM envelopes."},
		// The gateway may have one base URL for sandbox and production: the
		// calling app's credentials choose the environment (a sandbox app's
		// calls go to the sandbox core bank). Without --public-url the
		// portal does not know the gateway's address: the server is relative.
		"servers": catalogueServers(production, sandbox),
		"paths":   paths,
		// The LJ1 protocol's error codes, each with its HTTP status.
		"x-lj1-error-codes": lj1.Codes(),
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"LJ1-SM2-SM3":  scheme("LJ1-SM2-SM3", `app_id="…",serial="…",timestamp="…",nonce="…",signature="…" (SM2 signature with the app's signing key)`),
				"LJ1-HMAC-SM3": scheme("LJ1-HMAC-SM3", `app_id="…",serial="…",timestamp="…",nonce="…",signature="…" (HMAC-SM3 with the App_Secret; A1 APIs only)`),
			},
			"schemas": map[string]any{"LJ1Error": map[string]any{"type": "object", "required": []string{"code", "message", "request_id"},
				"properties": map[string]any{"code": map[string]any{"type": "string", "enum": lj1Codes(), "description": "an LJ1 error code (x-lj1-error-codes: code → HTTP status)"}, "message": map[string]any{"type": "string"},
					"request_id": map[string]any{"type": "string"}}},
				"ServiceError": serviceErrorSchema},
		},
	}
}

// lj1Codes lists the LJ1 protocol's error codes, sorted.
func lj1Codes() []string {
	codes := make([]string, 0, len(lj1.Codes()))
	for c := range lj1.Codes() {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}
