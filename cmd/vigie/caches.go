package main

import (
	"flag"
	"strconv"

	"vigie/search"
	"vigie/store"
)

// cacheSizes are the bounds of a process's caches, set by flags: the
// memory of a process serving or loading a store is bounded by its
// configuration, not by the store's size (but for the patient index's
// in-memory mirror of the records' keys, identities and blocking keys,
// which is the index itself). Each cache takes its memory as it fills: a
// small store costs only what it holds.
type cacheSizes struct {
	// Forms is the patient index's cache of normalised forms (about 320
	// bytes a record, see mpi.Options.CacheRecords): a miss reads the
	// record's stored form.
	Forms cacheSize
	// Block is Badger's cache of decompressed table blocks
	// (store.Options.CacheMB), Index its cache of the tables' indexes and
	// Bloom filters (store.Options.IndexCacheMB).
	Block, Index cacheSize
	// Filters bounds the search index's term filters
	// (search.Options.FilterBytes); serve only.
	Filters cacheSize
}

// formBytes is the room a cached normalised form takes, as the patient
// index counts it (see mpi.Options.CacheRecords).
const formBytes = 320

// serveCaches are `vigie serve`'s defaults: every form of a regional index
// of two million records (a resolve reads the forms of a few dozen
// records; from the store, that was a third of its cost), and Badger's
// usual caches.
var serveCaches = cacheSizes{Forms: 640 << 20, Block: 64 << 20, Index: 32 << 20, Filters: search.DefaultFilterBytes}

// importCaches are `vigie import identities`'s defaults. The forms: a
// bulk load scores each row against the records sharing its blocking
// keys, scattered over the whole store, and every form the cache no longer
// holds is read back from Badger (a table lookup and a block decoded): at
// a million records with 128 MB, about a third of the link phase's CPU.
// 512 MiB holds every form of 1.6 million records (320 bytes each); the
// cache is bytes, which the garbage collector does not scan, and the heap
// limit counts it (see memoryLimitMiB), so it no longer makes the
// collector run more often. The block cache is a bulk load's small one
// (see store.Open).
var importCaches = cacheSizes{Forms: 512 << 20, Block: 8 << 20, Index: 32 << 20}

// importHeapRoomMiB is what a bulk load's Go heap needs beside its
// caches: the index's mirror (keys, memberships, blocking index: about
// 320 MB at a million records), Badger's memtables and table builders
// (about 200 MB), the rows in flight, and before the load the model's
// fit (its sample of 200,000 records and their candidate pairs: a live
// heap of 1.2 GB at its peak, whatever the feed's size). Measured at a
// million records: live heap at most 1.2 GB, peak RSS 2.74 GB.
const importHeapRoomMiB = 2048

// memoryLimitMiB is the soft limit of the Go heap a process with these
// caches gets by default: the caches plus room. Below it the collector
// runs at its usual pace (a cycle each time the heap doubles); at a
// million records a limit of 800 MiB, below the live heap, made it run
// without pause, for half the load's CPU.
func (c cacheSizes) memoryLimitMiB(room int) int {
	return int((c.Forms+c.Block+c.Index+c.Filters)>>20) + room
}

// flags adds --form-cache, --block-cache and --index-cache to fs, and
// --search-filters when c bounds them, with c's values as defaults.
func (c *cacheSizes) flags(fs *flag.FlagSet) {
	if c.Filters > 0 {
		fs.Var(&c.Filters, "search-filters", "memory for the search index's term filters of its small segments, e.g. 256MiB (2 bytes a term; a segment without one is searched through its dictionaries)")
	}
	fs.Var(&c.Forms, "form-cache", "memory for the patient index's cache of normalised forms, e.g. 256MiB (about 320 bytes a record; a miss reads the record's form from the store)")
	fs.Var(&c.Block, "block-cache", "memory for Badger's cache of table blocks, e.g. 64MiB")
	fs.Var(&c.Index, "index-cache", "memory for Badger's cache of table indexes and Bloom filters, e.g. 32MiB (beyond it they are read again from the tables)")
}

// formRecords is mpi.Options.CacheRecords for c.Forms (at least one).
func (c cacheSizes) formRecords() int { return max(1, int(c.Forms)/formBytes) }

// storeOptions sets o's cache bounds from c (at least one MiB each).
func (c cacheSizes) storeOptions(o store.Options) store.Options {
	o.CacheMB = max(1, int64(c.Block)>>20)
	o.IndexCacheMB = max(1, int64(c.Index)>>20)
	return o
}

// cacheSize is a byteSize shown in MiB (the flags' defaults).
type cacheSize int64

func (c *cacheSize) String() string { return strconv.FormatInt(int64(*c)>>20, 10) + "MiB" }

func (c *cacheSize) Set(s string) error { return (*byteSize)(c).Set(s) }
