package dimse

import "fmt"

// The association state machine of PS3.8 §9.2, for the acceptor side:
// the states an association Vigie accepts goes through, the events that
// move it, and the action each (state, event) pair takes (PS3.8 tables
// 9-7 to 9-9). The server (server.go) turns what it reads into events
// and performs the actions Transition names.

// State is an association state (PS3.8 table 9-1); only those an
// acceptor reaches are named.
type State int

const (
	Sta1  State = 1  // idle: no association, no transport connection
	Sta2  State = 2  // transport connection open, awaiting A-ASSOCIATE-RQ
	Sta3  State = 3  // awaiting the local A-ASSOCIATE response (accept or reject)
	Sta6  State = 6  // association established, ready for data transfer
	Sta8  State = 8  // awaiting the local A-RELEASE response
	Sta13 State = 13 // awaiting the transport connection's close
)

func (s State) String() string {
	return map[State]string{Sta1: "Sta1 idle", Sta2: "Sta2 awaiting A-ASSOCIATE-RQ", Sta3: "Sta3 awaiting local association response",
		Sta6: "Sta6 established", Sta8: "Sta8 awaiting local release response", Sta13: "Sta13 awaiting close"}[s]
}

// Event is what happens to an association (PS3.8 table 9-2).
type Event int

const (
	Evt3  Event = 3  // A-ASSOCIATE-AC PDU received
	Evt4  Event = 4  // A-ASSOCIATE-RJ PDU received
	Evt6  Event = 6  // A-ASSOCIATE-RQ PDU received
	Evt7  Event = 7  // local: accept the association
	Evt8  Event = 8  // local: reject the association
	Evt9  Event = 9  // local: send P-DATA
	Evt10 Event = 10 // P-DATA-TF PDU received
	Evt12 Event = 12 // A-RELEASE-RQ PDU received
	Evt13 Event = 13 // A-RELEASE-RP PDU received
	Evt14 Event = 14 // local: answer the release
	Evt15 Event = 15 // local: abort
	Evt16 Event = 16 // A-ABORT PDU received
	Evt17 Event = 17 // transport connection closed
	Evt18 Event = 18 // ARTIM timer expired
	Evt19 Event = 19 // unrecognised or invalid PDU received
)

// Action is what the acceptor does on an event (PS3.8 table 9-6 and
// following); the server performs it.
type Action string

const (
	AE6  Action = "AE-6" // stop ARTIM; decide on the A-ASSOCIATE-RQ
	AE7  Action = "AE-7" // send A-ASSOCIATE-AC
	AE8  Action = "AE-8" // send A-ASSOCIATE-RJ, start ARTIM
	DT1  Action = "DT-1" // send P-DATA-TF
	DT2  Action = "DT-2" // take the P-DATA-TF's fragments
	AR2  Action = "AR-2" // the peer asks to release: decide
	AR4  Action = "AR-4" // send A-RELEASE-RP, start ARTIM
	AR5  Action = "AR-5" // stop ARTIM (the peer closed)
	AA1  Action = "AA-1" // send A-ABORT (service user), start ARTIM
	AA2  Action = "AA-2" // stop ARTIM, close the connection
	AA3  Action = "AA-3" // the peer aborted: close
	AA4  Action = "AA-4" // the connection was lost
	AA5  Action = "AA-5" // stop ARTIM (closed before any association)
	AA6  Action = "AA-6" // ignore the PDU
	AA7  Action = "AA-7" // send A-ABORT
	AA8  Action = "AA-8" // send A-ABORT (service provider), start ARTIM
	NoOp Action = ""
)

// transitions is the acceptor's part of the state table.
var transitions = map[State]map[Event]struct {
	action Action
	next   State
}{
	Sta2: {
		Evt3: {AA1, Sta13}, Evt4: {AA1, Sta13}, Evt6: {AE6, Sta3}, Evt10: {AA1, Sta13}, Evt12: {AA1, Sta13},
		Evt13: {AA1, Sta13}, Evt16: {AA2, Sta1}, Evt17: {AA5, Sta1}, Evt18: {AA2, Sta1}, Evt19: {AA1, Sta13},
	},
	Sta3: {
		Evt7: {AE7, Sta6}, Evt8: {AE8, Sta13}, Evt15: {AA1, Sta13},
		Evt3: {AA8, Sta13}, Evt4: {AA8, Sta13}, Evt6: {AA8, Sta13}, Evt10: {AA8, Sta13}, Evt12: {AA8, Sta13},
		Evt13: {AA8, Sta13}, Evt16: {AA3, Sta1}, Evt17: {AA4, Sta1}, Evt19: {AA8, Sta13},
	},
	Sta6: {
		Evt9: {DT1, Sta6}, Evt10: {DT2, Sta6}, Evt12: {AR2, Sta8}, Evt15: {AA1, Sta13},
		Evt3: {AA8, Sta13}, Evt4: {AA8, Sta13}, Evt6: {AA8, Sta13}, Evt13: {AA8, Sta13},
		Evt16: {AA3, Sta1}, Evt17: {AA4, Sta1}, Evt19: {AA8, Sta13},
	},
	Sta8: {
		Evt9: {DT1, Sta8}, Evt14: {AR4, Sta13}, Evt15: {AA1, Sta13},
		Evt3: {AA8, Sta13}, Evt4: {AA8, Sta13}, Evt6: {AA8, Sta13}, Evt10: {AA8, Sta13}, Evt12: {AA8, Sta13},
		Evt13: {AA8, Sta13}, Evt16: {AA3, Sta1}, Evt17: {AA4, Sta1}, Evt19: {AA8, Sta13},
	},
	Sta13: {
		Evt3: {AA6, Sta13}, Evt4: {AA6, Sta13}, Evt6: {AA7, Sta13}, Evt10: {AA6, Sta13}, Evt12: {AA6, Sta13},
		Evt13: {AA6, Sta13}, Evt16: {AA2, Sta1}, Evt17: {AR5, Sta1}, Evt18: {AA2, Sta1}, Evt19: {AA7, Sta13},
	},
}

// Transition returns the action the acceptor takes on event e in state s
// and the state it moves to. An event the table does not foresee in that
// state (a local event out of turn: a bug of the caller) is an error.
func Transition(s State, e Event) (Action, State, error) {
	t, ok := transitions[s][e]
	if !ok {
		return NoOp, s, fmt.Errorf("dimse: event %d in state %s is not part of the acceptor's state machine", e, s)
	}
	return t.action, t.next, nil
}

// eventOf is the event of a received PDU (see ReadPDU).
func eventOf(p any) Event {
	switch p := p.(type) {
	case *Associate:
		if p.Type == TypeAssociateAC {
			return Evt3
		}
		return Evt6
	case *Reject:
		return Evt4
	case *PData:
		return Evt10
	case *ReleaseRQ:
		return Evt12
	case *ReleaseRP:
		return Evt13
	case *Abort:
		return Evt16
	}
	return Evt19
}
