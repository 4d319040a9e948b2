package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"vigie/rpc/admin"
	"vigie/store"
)

func init() {
	register(verb{name: "restore", summary: "restore backups (a full one, then its incrementals in order) into a new or empty folder, checked before it is installed", run: runRestore})
}

func runRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	var in multiFlag
	fs.Var(&in, "in", "backup file; repeat it: the full backup first, then its incrementals in the order they were taken (required)")
	data := fs.String("data", "", "folder of the Vigie store to restore into: new or empty (required: never the default, a restore does not go into a store by omission)")
	keyFile := encryptionKeyFlag(fs)
	backupKeyFile := fs.String("backup-key-file", "", "file holding the backups' key (default: the store's key, --encryption-key-file)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if len(in) == 0 {
		return usageErr("--in FILE is required")
	}
	skey, err := storeKey(*keyFile, *data)
	if err != nil {
		return err
	}
	bkey := skey
	if *backupKeyFile != "" {
		if bkey, err = store.LoadKey("backup-key-file", *backupKeyFile, *data); err != nil {
			return err
		}
	}
	var report strings.Builder
	ms, err := store.Restore(*data, in, store.RestoreOptions{
		Key: bkey, Store: store.Options{EncryptionKey: skey}, Summarize: admin.Summarize,
		Check: func(db *store.DB) error { return verifyStore(context.Background(), db, "", &report) },
	})
	if err != nil {
		if report.Len() > 0 {
			fmt.Fprint(stderr, report.String())
		}
		return err
	}
	last := ms[len(ms)-1]
	fmt.Fprintf(stdout, "restored %d backup files into %s: version %d, %d source records, %d identities, %d exams, audit head %d:%s\n",
		len(ms), *data, last.Version, last.Counts["records"], last.Counts["identities"], last.Counts["exams"], last.AuditSeq, last.AuditHash)
	fmt.Fprint(stdout, report.String())
	if skey != nil {
		fmt.Fprintln(stdout, "the restored store is encrypted with --encryption-key-file's key")
	}
	return nil
}
