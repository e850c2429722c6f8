import Foundation
import Testing
import Webhooks

/// Signatures against the Standard Webhooks specification's own example (its reference libraries' test vector).
@Suite("Webhook signatures")
struct SignatureTests {
    @Test func theSpecificationsExampleSignsAsItSays() throws {
        let signature = try WebhookSignature.sign(
            messageID: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func aRotatedSecretSignsBesideTheNewOne() throws {
        let (new, old) = (WebhookSignature.newSecret(), WebhookSignature.newSecret())
        #expect(new.hasPrefix("whsec_") && new != old)
        let body = Data("{}".utf8)
        let header = try WebhookSignature.header(messageID: "msg_1", timestamp: 1, body: body, secrets: [new, old])
        let parts = header.split(separator: " ").map(String.init)
        #expect(parts == [try WebhookSignature.sign(messageID: "msg_1", timestamp: 1, body: body, secret: new),
                          try WebhookSignature.sign(messageID: "msg_1", timestamp: 1, body: body, secret: old)])
    }
}
