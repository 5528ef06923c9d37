import ChatWire
import Testing

@Suite struct ValidationTests {
    @Test func userNames() {
        #expect(ChatValidation.userName("alice").isEmpty)
        #expect(!ChatValidation.userName("bob").isEmpty)              // too short
        #expect(!ChatValidation.userName("Alice").isEmpty)            // upper case
        #expect(!ChatValidation.userName("al ice").isEmpty)           // whitespace
        #expect(!ChatValidation.userName("al\u{0}ice").isEmpty)       // control character
        #expect(!ChatValidation.userName(String(repeating: "a", count: 33)).isEmpty)
    }

    @Test func registrationFields() {
        #expect(ChatValidation.registration(userName: "alice", password: "password1", displayName: "Alice A", phone: "0888123456", email: "a@b.co").isEmpty)
        let failures = ChatValidation.registration(userName: "A", password: "short", displayName: "Al", phone: "12ab", email: "not-an-email")
        #expect(Set(failures.map(\.property)) == ["userName", "password", "displayName", "phone", "email"])
        #expect(!ChatValidation.email("a\"b@c.de").isEmpty)
        #expect(!ChatValidation.email("a@b").isEmpty)
    }

    @Test func messagesAndReactions() {
        #expect(ChatValidation.messageText("hi").isEmpty)
        #expect(!ChatValidation.messageText("").isEmpty)
        #expect(!ChatValidation.messageText(String(repeating: "x", count: 129)).isEmpty)
        #expect(ChatValidation.reaction("👍").isEmpty)
        #expect(!ChatValidation.reaction("").isEmpty)
        #expect(!ChatValidation.reaction("123456789").isEmpty)
    }

    @Test func filesAndSearch() {
        #expect(ChatValidation.bucket("files-2024-01-31").isEmpty)
        #expect(!ChatValidation.bucket("Files").isEmpty)
        #expect(ChatValidation.path("12/0f8fad5b-d9cb-469f-a165-70867728950e.png").isEmpty)
        #expect(!ChatValidation.path("../etc/passwd").isEmpty)
        #expect(!ChatValidation.path("12/short.png").isEmpty)
        #expect(ChatValidation.contentType(forFileName: "photo.JPG")?.contentType == "image/jpg")
        #expect(ChatValidation.contentType(forFileName: "run.exe") == nil)
        #expect(ChatValidation.searchPattern("mar").isEmpty)
        #expect(ChatValidation.searchPattern("Мария").isEmpty)
        #expect(!ChatValidation.searchPattern("ma").isEmpty)
        #expect(!ChatValidation.searchPattern("ma%").isEmpty)
    }
}
