package portal

import (
	"strings"

	"github.com/labstack/echo/v4"

	"lijiang/platform"
)

// What the developer portal shows of the bank's own records (issue 10): the
// bank's people appear as "the bank", never by their staff ids, and the
// bank's internal notes stay in the admin API. Bank users see the records as
// they are.

// theBank stands for any bank user, the command line or the platform itself
// in what a developer reads.
const theBank = "the bank"

// shownBy is the actor by ("kind:id") as the caller may see it: as it is for
// bank users; for a developer, developer actors as they are and anyone of the
// bank as theBank.
func shownBy(c echo.Context, by string) string {
	if by == "" || developerID(c) == "" || strings.HasPrefix(by, platform.ActorDeveloper+":") {
		return by
	}
	return theBank
}

// shownRequest is a production request as the caller may see it: for a
// developer without the editors, the internal note or staff ids.
func shownRequest(c echo.Context, r platform.ProductionRequest) platform.ProductionRequest {
	if developerID(c) == "" {
		return r
	}
	r.InternalNote, r.Editors = "", nil
	r.SubmittedBy, r.AcceptedBy, r.ReviewedBy = shownBy(c, r.SubmittedBy), shownBy(c, r.AcceptedBy), shownBy(c, r.ReviewedBy)
	return r
}

// shownApplicant is an applicant as the caller may see it.
func shownApplicant(c echo.Context, a platform.Applicant) platform.Applicant {
	a.CreatedBy, a.UpdatedBy = shownBy(c, a.CreatedBy), shownBy(c, a.UpdatedBy)
	return a
}

// shownApp is an app as the caller may see it.
func shownApp(c echo.Context, a appJSON) appJSON {
	a.CreatedBy = shownBy(c, a.CreatedBy)
	return a
}

// shownCredential is a credential as the caller may see it.
func shownCredential(c echo.Context, cr platform.Credential) platform.Credential {
	cr.CreatedBy, cr.RevokedBy = shownBy(c, cr.CreatedBy), shownBy(c, cr.RevokedBy)
	return cr
}
