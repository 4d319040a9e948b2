//go:build !linux

package dimse

import "net"

// quickAck is Linux's TCP_QUICKACK (see quickack_linux.go); elsewhere
// the system's delayed acknowledgements are kept.
func quickAck(net.Conn) {}
