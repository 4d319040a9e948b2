package rpc

import (
	"context"

	"vigie"
	"vigie/auth"
	"vigie/mpi"
)

// identityInSites is admin.Service.InSites on the patient index: whether
// the identity an audit entry names holds, as it is now (after merges), a
// record of one of p's sites. An id that is not an identity's, or of an
// identity that does not exist, is out of scope; any other error refuses.
func identityInSites(ix *mpi.Index) func(ctx context.Context, p *auth.Principal, identity string) (bool, error) {
	return func(ctx context.Context, p *auth.Principal, identity string) (bool, error) {
		id, err := vigie.ParseIdentityID(identity)
		if err != nil {
			return false, nil
		}
		ident, err := ix.Get(ctx, id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return anyMember(&ident, p.HasSite), nil
	}
}
