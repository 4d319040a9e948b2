package main

import (
	"fmt"
	"io"
	"os"

	"vigie/store"
)

func init() {
	register(verb{name: "rekey", summary: "change an encrypted store's master key (server stopped): its data keys are re-encrypted, the old key stops opening it", run: runRekey})
}

func runRekey(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rekey", stderr)
	data := dataFlag(fs, "encrypted; no server may hold it")
	keyFile := encryptionKeyFlag(fs)
	newKeyFile := fs.String("new-key-file", "", "file holding the new master key (required; outside the data folder)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("--data DIR is required")
	}
	if *newKeyFile == "" {
		return usageErr("--new-key-file FILE is required")
	}
	if _, err := os.Stat(*data); err != nil {
		return usageErr("--data: %v", err)
	}
	old, err := storeKey(*keyFile, *data)
	if err != nil {
		return err
	}
	newKey, err := store.LoadKey("new-key-file", *newKeyFile, *data)
	if err != nil {
		return err
	}
	if err := store.RotateMasterKey(*data, old, newKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rekeyed %s: it opens with the key of %s only; the backups keep the key they were written with\n", *data, *newKeyFile)
	return nil
}
