import Domain
import Foundation
import Settings
import Testing

@Suite("Layered configuration")
struct SettingsTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let configFile = packageRoot.appendingPathComponent("config/repowatch.yaml").path

    @Test func theDocumentedFileHoldsExactlyTheBuiltInDefaults() throws {
        let fromFile = try Settings.load(configFile: Self.configFile, environment: [:])
        #expect(fromFile == Settings.defaults)
        let text = try String(contentsOfFile: Self.configFile, encoding: .utf8)
        for key in Settings.keys {
            let leaf = String(key.name.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "config/repowatch.yaml does not document \(key.name)")
        }
    }

    @Test func theReadmeDocumentsEveryKeyAndItsVariable() throws {
        let readme = try String(contentsOf: Self.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for key in Settings.keys {
            #expect(readme.contains("`\(key.name)`"), "README.md does not document \(key.name)")
            for variable in key.environment {
                #expect(readme.contains(variable), "README.md does not name \(variable)")
            }
        }
    }

    @Test func laterLayersWin() throws {
        let file = try temporaryFile("http:\n  port: 9000\n  host: 0.0.0.0\ndata_dir: /from/file\n")
        let settings = try Settings.load(
            configFile: file,
            environment: ["REPOWATCH_HTTP_PORT": "9100", "REPOWATCH_DATA_DIR": "/from/env"],
            overrides: .init(dataDir: "/from/flag"))
        #expect(settings.httpHost == "0.0.0.0", "file over default")
        #expect(settings.httpPort == 9100, "environment over file")
        #expect(settings.dataDir == "/from/flag", "flag over environment")
    }

    @Test func aliasesAndLists() throws {
        let settings = try Settings.load(
            configFile: nil,
            environment: ["DATABASE_URL": "postgres://u@db/x", "REPOWATCH_ALLOWED_HOSTS": "github.com, 127.0.0.1:8080 ,[::1]:9000"])
        #expect(settings.databaseURL == "postgres://u@db/x")
        #expect(settings.allowedHosts.entries == ["github.com", "127.0.0.1:8080", "[::1]:9000"])
        let preferred = try Settings.load(
            configFile: nil, environment: ["DATABASE_URL": "postgres://a@db/x", "REPOWATCH_DATABASE_URL": "postgres://b@db/x"])
        #expect(preferred.databaseURL == "postgres://b@db/x", "REPOWATCH_DATABASE_URL wins over its alias")
    }

    @Test(arguments: [
        ("http:\n  prot: 80\n", "unknown key 'http.prot'"),
        ("colour: blue\n", "unknown key 'colour'"),
        ("http:\n  port: eighty\n", "http.port"),
        ("http:\n  port: 70000\n", "between 0 and 65535"),
        ("log:\n  level: loud\n", "log.level"),
        ("repos:\n  allowed_hosts: [\"bad host\"]\n", "repos.allowed_hosts"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("http: [\n", "not valid YAML"),
        ("api:\n  page_size_default: 500\n", "must not exceed api.page_size_max"),
    ])
    func badFilesFailNamingTheKey(yaml: String, expected: String) throws {
        let file = try temporaryFile(yaml)
        do {
            _ = try Settings.load(configFile: file, environment: [:])
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func unknownEnvironmentVariablesAreRefused() {
        do {
            _ = try Settings.load(configFile: nil, environment: ["REPOWATCH_HTTP_PROT": "1"])
            Issue.record("accepted a misspelt variable")
        } catch {
            #expect(error.message.contains("REPOWATCH_HTTP_PROT"))
        }
    }

    @Test func badEnvironmentValuesNameTheVariable() {
        do {
            _ = try Settings.load(configFile: nil, environment: ["REPOWATCH_HTTP_PORT": "-1"])
            Issue.record("accepted -1")
        } catch {
            #expect(error.message.contains("REPOWATCH_HTTP_PORT"))
        }
    }

    @Test func secretsAreNotEchoed() {
        do {
            _ = try Settings.load(configFile: nil, environment: ["DATABASE_URL": "mysql://root:hunter2@db/x"])
            Issue.record("accepted a mysql URL")
        } catch {
            #expect(error.message.contains("database.url"))
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test func repositoryURLsUseTheConfiguredHosts() throws {
        let settings = try Settings.load(configFile: nil, environment: ["REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:8080"])
        #expect(try settings.repositoryURL("http://127.0.0.1:8080/o/r.git").canonical == "http://127.0.0.1:8080/o/r")
        #expect(throws: RepositoryURLError.self) { try settings.repositoryURL("https://github.com/o/r") }
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repowatch-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
