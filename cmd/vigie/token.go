package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"vigie"
	"vigie/auth"
	"vigie/store"
)

func init() {
	register(verb{name: "token create", summary: "create an API key (prints its secret, once, on the last line)", run: runTokenCreate})
	register(verb{name: "token list", summary: "list API keys (never their secrets)", run: runTokenList})
	register(verb{name: "token revoke", summary: "revoke an API key at once", run: runTokenRevoke})
}

func runTokenCreate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token create", stderr)
	data := dataFlag(fs, "created if missing")
	role := fs.String("role", "", "role of the key: ingest, clinician, vigilance, regional_vigilance, physicist or admin (required)")
	name := fs.String("name", "", "name of the key's holder, as the audit trail shows it (required)")
	expires := fs.String("expires", "90d", "lifetime of the key: days (90d) or a Go duration (36h)")
	var authorities multiFlag
	fs.Var(&authorities, "authority", "site (assigning authority, OID) the key acts for; repeatable; required for every role but admin and regional_vigilance")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *role == "" {
		return vigie.Invalid("role", "required (ingest, clinician, vigilance, regional_vigilance, physicist or admin)")
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return err
	}
	lifetime, err := parseLifetime(*expires)
	if err != nil {
		return err
	}
	db, err := openDataStore(*data, false)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, key, err := auth.NewKeys(db).Create(r, authorities, *name, lifetime)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %s created for %q: role %s, authorities %s, expires %s\n",
		key.ID, key.Name, key.Role, orDash(strings.Join(key.Authorities, ",")), key.Expires.Format(time.RFC3339))
	fmt.Fprintln(stdout, "Its secret follows, shown this once: give it to its holder as `Authorization: Bearer <secret>`.")
	fmt.Fprintln(stdout, secret)
	return nil
}

// parseLifetime reads "90d" (days) or a Go duration ("36h", "90m").
func parseLifetime(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, vigie.Invalid("expires", "%q is not a positive number of days", s)
		}
		if n > int(auth.MaxKeyLifetime/(24*time.Hour)) {
			return 0, vigie.Invalid("expires", "%d days is more than the %d allowed", n, auth.MaxKeyLifetime/(24*time.Hour))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, vigie.Invalid("expires", "%q is neither days (90d) nor a positive duration (36h)", s)
	}
	return d, nil
}

func runTokenList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token list", stderr)
	data := dataFlag(fs, "")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := auth.NewKeys(db).List()
	if err != nil {
		return err
	}
	now := time.Now()
	tw := newTable(stdout)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tAUTHORITIES\tCREATED\tEXPIRES\tSTATUS")
	for _, k := range keys {
		status := "active"
		switch {
		case !k.Revoked.IsZero():
			status = "revoked " + k.Revoked.Format(time.RFC3339)
		case !now.Before(k.Expires):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, orDash(strings.Join(k.Authorities, ",")),
			k.Created.Format(time.RFC3339), k.Expires.Format(time.RFC3339), status)
	}
	return tw.Flush()
}

func runTokenRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token revoke", stderr)
	data := dataFlag(fs, "")
	id := fs.String("id", "", "id of the key to revoke, as `vigie token list` shows it (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return vigie.Invalid("id", "required (vigie token list shows the ids)")
	}
	db, err := openDataStore(*data, true)
	if err != nil {
		return err
	}
	defer db.Close()
	k, err := auth.NewKeys(db).Revoke(*id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %s (%q, %s) revoked at %s\n", k.ID, k.Name, k.Role, k.Revoked.Format(time.RFC3339))
	return nil
}

// openDataStore opens the store in dir; with mustExist, a missing folder is
// an error rather than a new empty store (listing or querying nothing
// would hide a mistyped --data).
func openDataStore(dir string, mustExist bool) (*store.DB, error) {
	if mustExist {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil, vigie.Invalid("data", "%s does not exist", dir)
		}
	}
	return openStore(dir, store.Options{})
}

// orDash is s, or "-" for an empty cell of a table (newTable).
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
