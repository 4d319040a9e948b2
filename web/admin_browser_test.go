package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"

	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

func (c *console) admin(role string) vigiev1connect.AdminServiceClient {
	return vigiev1connect.NewAdminServiceClient(c.client, c.url, connect.WithInterceptors(bearer(c.tokens[role])))
}

// TestConsoleAdministration (issue 28): an admin key lands on the
// "Administration" page, which lists the API keys (holder, role and sites
// in words, state) and the establishments by name; the admin approves a
// key another admin made, adds and renames an establishment. The page
// shows no secret, no OID and nothing of any patient, and reads no patient
// service. An ingest key gets a word on what it is for instead of an empty
// console.
func TestConsoleAdministration(t *testing.T) {
	chromium(t)
	c := newConsole(t, 120, 3)
	b := newBrowser(t)
	ctx := context.Background()
	dir := shots(t)

	// A clinician's key made through the API by the other admin: it
	// waits for a second person, the admin of the browser.
	made, err := c.admin("admin-2").CreateApiKey(ctx, connect.NewRequest(&v1.CreateApiKeyRequest{
		Role: "clinician", Name: "Dr Approbation", Authorities: []string{c.site}}))
	if err != nil || !made.Msg.GetKey().GetPending() {
		t.Fatalf("fixture: a pending key: %v %v", made.Msg.GetKey(), err)
	}
	pending := made.Msg.GetKey().GetId()

	tab := b.tab(t)
	signIn(t, tab, c.url, c.tokens["admin"])
	var hash, title, who string
	var keyRows int
	var physicistSites, pendingState string
	run(t, tab, "administration page",
		waitJS(`document.body.dataset.ready && document.getElementById('keys-table')`),
		chromedp.Evaluate(`location.hash`, &hash),
		chromedp.Evaluate(`document.querySelector('#page h1').textContent`, &title),
		chromedp.Evaluate(`document.getElementById('role-label').textContent`, &who),
		chromedp.Evaluate(`document.querySelectorAll('#keys-table tbody tr').length`, &keyRows),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#keys-table tbody tr')).filter(r => r.cells[0].textContent === 'web-test-physicist')
			.map(r => r.cells[1].textContent + ' | ' + r.cells[2].textContent).join()`, &physicistSites),
		chromedp.Evaluate(`document.querySelector('#keys-table tr[data-key="`+pending+`"] [data-field=state]').textContent`, &pendingState))
	if hash != "#/administration" || title != "Administration" || who != "web-test-admin — Administration" {
		t.Errorf("the admin lands on %q titled %q, shown as %q", hash, title, who)
	}
	if keyRows < 9 {
		t.Errorf("%d keys listed, want the fixture's 8 and the pending one", keyRows)
	}
	if physicistSites != "Physique médicale | CHU de Bordeaux — Pellegrin" {
		t.Errorf("the physicist's key reads %q, want its role and site in words", physicistSites)
	}
	if !strings.HasPrefix(pendingState, "en attente d'approbation") {
		t.Errorf("the pending key's state reads %q", pendingState)
	}
	checkAdminText(t, c, tab)
	screenshot(t, tab, dir, "administration")

	// Approve the pending key.
	run(t, tab, "approve",
		chromedp.Click(`#keys-table tr[data-key="`+pending+`"] button[data-action=approve]`, chromedp.ByQuery),
		waitJS(`document.querySelector('#keys-table tr[data-key="`+pending+`"]').dataset.state === 'active'`),
		chromedp.Evaluate(`document.querySelector('#keys-table tr[data-key="`+pending+`"] [data-field=state]').textContent`, &pendingState))
	if pendingState != "activeapprouvée par web-test-admin" {
		t.Errorf("after approval the state reads %q", pendingState)
	}
	keys, err := c.admin("admin-2").ListApiKeys(ctx, connect.NewRequest(&v1.ListApiKeysRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Msg.GetKeys() {
		if k.GetId() == pending && (k.GetPending() || k.GetApprovedBy() != "web-test-admin") {
			t.Errorf("after the click the key is %v", k)
		}
	}

	// Add an establishment, then rename it: its name shows, its OID never.
	const oid = "1.2.250.1.999.7.7"
	var names []string
	run(t, tab, "add a site",
		chromedp.SendKeys("#site-name", "Clinique du Test", chromedp.ByQuery),
		chromedp.SendKeys("#site-oid", oid, chromedp.ByQuery),
		chromedp.Click("#site-add-go", chromedp.ByQuery),
		waitJS(`Array.from(document.querySelectorAll('#sites-table [data-field=name]')).some(e => e.textContent === 'Clinique du Test')`),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#sites-table tbody tr')).map(r => r.cells[0].textContent)`, &names))
	run(t, tab, "rename it",
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#sites-table tbody tr')).find(r => r.cells[0].textContent === 'Clinique du Test')
			.querySelector('button[data-action=rename]').click()`, nil),
		waitJS(`document.querySelector('#sites-table form.rename input')`),
		chromedp.Evaluate(`document.querySelector('#sites-table form.rename input').value = ''`, nil),
		chromedp.SendKeys(`#sites-table form.rename input`, "Clinique des Essais", chromedp.ByQuery),
		chromedp.Click(`#sites-table form.rename button[type=submit]`, chromedp.ByQuery),
		waitJS(`Array.from(document.querySelectorAll('#sites-table [data-field=name]')).some(e => e.textContent === 'Clinique des Essais')`))
	sites, err := c.admin("admin-2").ListSites(ctx, connect.NewRequest(&v1.ListSitesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	renamed := false
	for _, s := range sites.Msg.GetSites() {
		renamed = renamed || s.GetAuthority() == oid && s.GetName() == "Clinique des Essais"
	}
	if !renamed || !contains(names, "CHU de Bordeaux — Pellegrin") {
		t.Errorf("sites after add and rename: %v; shown before the rename: %v", sites.Msg.GetSites(), names)
	}
	checkAdminText(t, c, tab)

	t.Run("ingest", func(t *testing.T) {
		tab := b.tab(t)
		signIn(t, tab, c.url, c.tokens["ingest"])
		var text string
		run(t, tab, "ingest page", waitJS(`document.body.dataset.ready`), chromedp.Evaluate(`document.getElementById('page').innerText`, &text))
		if strings.Contains(text, "Aucune page") || !strings.Contains(text, "STOW-RS") || !strings.Contains(text, "flux") {
			t.Errorf("an ingest key reads %q", text)
		}
	})
	b.checkErrors(t)
}

// checkAdminText fails when the administration page shows a key's
// secret, an OID, a patient's birth name or birth date, or called a
// service that reads patients.
func checkAdminText(t *testing.T, c *console, tab context.Context) {
	t.Helper()
	var text string
	var calls []string
	run(t, tab, "page text", chromedp.Evaluate(`document.body.innerText`, &text),
		chromedp.Evaluate(`performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/vigie.v1.'))`, &calls))
	if strings.Contains(text, "vgk_") {
		t.Error("the page shows an API key's secret")
	}
	if m := regexp.MustCompile(`\d+(\.\d+){3,}`).FindString(text); m != "" {
		t.Errorf("the page shows an OID: %s", m)
	}
	for _, w := range []string{"naissance", "Né(e)", "INS", "IPP", "Patient", "patient :"} {
		if strings.Contains(text, w) {
			t.Errorf("the page shows %q", w)
		}
	}
	thisYear := time.Now().Year()
	for _, rs := range c.people {
		for _, r := range rs {
			if len(r.BirthName) >= 4 && regexp.MustCompile(`\b`+regexp.QuoteMeta(r.BirthName)+`\b`).MatchString(text) {
				t.Errorf("the page shows the birth name %s", r.BirthName)
			}
			if len(r.BirthDate) == 10 && r.BirthDate[:4] < time.Date(thisYear-1, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") &&
				strings.Contains(text, frDate(r.BirthDate)) {
				t.Errorf("the page shows the birth date %s", frDate(r.BirthDate))
			}
		}
	}
	for _, u := range calls {
		if !strings.Contains(u, "/vigie.v1.AdminService/") && !strings.Contains(u, "/vigie.v1.SessionService/") {
			t.Errorf("the administration page called %s", u)
		}
	}
}
