package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"vigie/auth"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// TestConsoleAccessCodeOnHistory (issue 30): on a patient's dose history,
// the staff of one of the patient's sites and identity vigilance get a
// button that makes a patient access code and shows it with its expiry,
// in French, in a box that is printed; the code shown opens the patient
// to a clinician of another site. A role that makes no codes gets no
// button.
func TestConsoleAccessCodeOnHistory(t *testing.T) {
	chromium(t)
	c := newConsole(t, 120, 3)
	b := newBrowser(t)
	ctx := context.Background()
	elsewhere := func(code string) error {
		ics := []connect.Interceptor{bearer(c.tokens["clinician-elsewhere"])}
		if code != "" {
			ics = append(ics, connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
				return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
					req.Header().Set(auth.AccessCodeHeader, code)
					return next(ctx, req)
				}
			}))
		}
		cl := vigiev1connect.NewIdentityServiceClient(c.client, c.url, connect.WithInterceptors(ics...))
		_, err := cl.GetIdentity(ctx, connect.NewRequest(&v1.GetIdentityRequest{IdentityId: c.patient}))
		return err
	}
	if err := elsewhere(""); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("fixture: a clinician of another site reads the patient without a code: %v", err)
	}
	codeRe := regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`)
	for _, tc := range []struct {
		who    string
		button bool
	}{
		{"clinician-site", true}, // a clinician of the patient's site
		{"vigilance", true},      // identity vigilance
		{"physicist", false},     // reads the history, makes no codes
	} {
		t.Run(tc.who, func(t *testing.T) {
			tab := b.tab(t)
			signIn(t, tab, c.url, c.tokens[tc.who])
			var has bool
			run(t, tab, "dose history",
				chromedp.Navigate(c.url+"/#/dose/"+c.patient),
				waitJS(`document.getElementById('dose-history') && document.body.dataset.ready`),
				chromedp.Evaluate(`!!document.getElementById('access-code-make')`, &has))
			if has != tc.button {
				t.Fatalf("%s: button shown %v, want %v", tc.who, has, tc.button)
			}
			if !tc.button {
				return
			}
			var label, code, expires, text string
			var printed bool
			run(t, tab, "make a code",
				chromedp.Evaluate(`document.getElementById('access-code-make').textContent`, &label),
				chromedp.Click("#access-code-make", chromedp.ByQuery),
				waitJS(`document.getElementById('access-code')`),
				chromedp.Evaluate(`document.querySelector('#access-code [data-field=code]').textContent`, &code),
				chromedp.Evaluate(`document.querySelector('#access-code [data-field=expires]').textContent`, &expires),
				chromedp.Evaluate(`document.getElementById('access-code').innerText`, &text),
				emulation.SetEmulatedMedia().WithMedia("print"),
				chromedp.Evaluate(`(function () { var e = document.getElementById('access-code'), s = getComputedStyle(e);
					return e.offsetParent !== null && s.borderTopStyle !== 'none' && getComputedStyle(document.getElementById('access-code-make')).display === 'none'; })()`, &printed),
				emulation.SetEmulatedMedia().WithMedia("screen"))
			if label != "Générer un code d'accès patient" {
				t.Errorf("button %q", label)
			}
			if !codeRe.MatchString(code) || !strings.HasPrefix(expires, "Valable jusqu'au ") || !strings.Contains(text, "À remettre au patient") {
				t.Errorf("code box: code %q, expiry %q, text %q", code, expires, text)
			}
			if !printed {
				t.Error("printed, the code is not in a box, or the button is printed")
			}
			// The code shown is the patient's: it opens the patient to a
			// clinician of another site.
			if err := elsewhere(code); err != nil {
				t.Errorf("the code shown does not open the patient: %v", err)
			}
			b.checkErrors(t)
		})
	}
}
