package dimse

import "testing"

func TestTransition(t *testing.T) {
	for _, tc := range []struct {
		s      State
		e      Event
		action Action
		next   State
	}{
		{Sta2, Evt6, AE6, Sta3},   // A-ASSOCIATE-RQ received
		{Sta2, Evt10, AA1, Sta13}, // data before any association: abort
		{Sta2, Evt18, AA2, Sta1},  // no A-ASSOCIATE-RQ in time: close
		{Sta3, Evt7, AE7, Sta6},   // accepted
		{Sta3, Evt8, AE8, Sta13},  // rejected: wait for the close
		{Sta6, Evt10, DT2, Sta6},  // data
		{Sta6, Evt9, DT1, Sta6},   // a response
		{Sta6, Evt12, AR2, Sta8},  // release asked
		{Sta6, Evt6, AA8, Sta13},  // a second A-ASSOCIATE-RQ: provider abort
		{Sta6, Evt16, AA3, Sta1},  // the peer aborted
		{Sta6, Evt17, AA4, Sta1},  // connection lost
		{Sta6, Evt19, AA8, Sta13}, // invalid PDU
		{Sta8, Evt14, AR4, Sta13}, // release answered
		{Sta13, Evt17, AR5, Sta1}, // the peer closed
		{Sta13, Evt10, AA6, Sta13},
		{Sta13, Evt18, AA2, Sta1},
	} {
		a, n, err := Transition(tc.s, tc.e)
		if err != nil || a != tc.action || n != tc.next {
			t.Errorf("%s on event %d: %s → %s (%v), want %s → %s", tc.s, tc.e, a, n, err, tc.action, tc.next)
		}
	}
	if _, _, err := Transition(Sta2, Evt7); err == nil {
		t.Error("accepting before any A-ASSOCIATE-RQ is not an error")
	}
	// Every state the acceptor reaches handles every PDU it may receive
	// and the transport's events.
	for s := range transitions {
		for _, e := range []Event{Evt3, Evt4, Evt6, Evt10, Evt12, Evt13, Evt16, Evt17, Evt19} {
			if _, _, err := Transition(s, e); err != nil {
				t.Errorf("%s does not handle event %d", s, e)
			}
		}
	}
}
