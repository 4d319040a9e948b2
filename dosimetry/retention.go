package dosimetry

import (
	"encoding/json"
	"vigie/store"

	"vigie"
)

// AlertsByRecord returns the ids of the stored alerts of every source
// record that has some. Alerts are never deleted but at the end of the
// legal retention of the patient's data (package retention), with the
// exams they were raised on: see DeleteAlertIn.
func AlertsByRecord(txn *store.Txn) (map[vigie.SourceKey][]string, error) {
	out := map[vigie.SourceKey][]string{}
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefixAlert, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var a struct {
			Key vigie.SourceKey `json:"key"`
		}
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &a) }); err != nil {
			return nil, err
		}
		id := string(it.Item().Key()[len(prefixAlert):])
		out[a.Key] = append(out[a.Key], id)
	}
	return out, nil
}

// DeleteAlertIn removes one alert in txn (a retention purge).
func DeleteAlertIn(txn *store.Txn, id string) error { return txn.Delete(alertKey(id)) }
