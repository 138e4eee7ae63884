package subjects

// BucketReads maps ReadKey -> a member's read marker (store.ReadMarker):
// how far the member has read the chat.
const BucketReads = "natter_reads"

// ReadKey is the BucketReads key of userID's read marker in chatID.
func ReadKey(chatID, userID string) string { return "chat." + chatID + "." + userID }

// ChatReadsFilter matches every ReadKey of chatID.
func ChatReadsFilter(chatID string) string { return "chat." + chatID + ".*" }

// ParseReadKey returns the chat and user of a ReadKey.
func ParseReadKey(key string) (chatID, userID string, ok bool) {
	return pair(key, "chat.")
}

// ChatEventTyping is the ChatEvent kind of typing notices (Typing and
// StopTyping frames), and ChatEventRead the kind of read markers sent to
// every member of a chat small enough for receipts.
const (
	ChatEventTyping = "typing"
	ChatEventRead   = "read"
)
