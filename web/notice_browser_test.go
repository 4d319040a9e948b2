package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"vigie"
	"vigie/internal/door"
	"vigie/mpi"
)

// TestConsoleRepairedTextNotice: an identity whose stored text is not
// UTF-8 (a record of an earlier version, stored below today's doors) is
// shown repaired, with the notice in French, not the API's English one.
func TestConsoleRepairedTextNotice(t *testing.T) {
	chromium(t)
	c := newConsole(t, 40, 1)
	b := newBrowser(t)
	door.WithoutDoor(t)
	res, err := c.index.Resolve(context.Background(), vigie.Record{Authority: c.site, LocalID: "LATIN1", BirthName: "MULLER",
		FirstNames: "J\xe9r\xf4me", BirthDate: "1960-02-03", Sex: "M", City: "Orl\xe9ans"}, mpi.System)
	if err != nil {
		t.Fatal(err)
	}
	tab := b.tab(t)
	signIn(t, tab, c.url, c.tokens["vigilance"])
	var notice, page string
	run(t, tab, "identity page",
		chromedp.Navigate(c.url+"/#/identite/"+res.Identity.String()),
		waitJS(`document.body.dataset.ready && document.getElementById('golden')`),
		chromedp.Evaluate(`(document.getElementById('text-notice') || {}).textContent || ''`, &notice),
		chromedp.Evaluate(`document.querySelector('main').innerText`, &page))
	if !strings.Contains(notice, "Certains caractères enregistrés") || !strings.Contains(notice, "Corriger le dossier source") {
		t.Errorf("no French notice of the repaired text: %q", notice)
	}
	if strings.Contains(page, "not valid UTF-8") {
		t.Errorf("the page shows the API's English notice:\n%s", page)
	}
}
