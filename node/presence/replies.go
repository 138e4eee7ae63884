package presence

// Answers to expect per request, the room of its reply inbox
// (internal/inbox): two snapshot answers per node of the cluster beyond
// a floor (and snapshotPages more for answers in several pages),
// syncPages pages of a node's devices in flight. The reader takes each
// as it comes; a full inbox drops an answer (nats.go counts a slow
// consumer), which the request's deadline then ends.
const (
	minSnapshotAnswers = 16
	syncPages          = 256
)
