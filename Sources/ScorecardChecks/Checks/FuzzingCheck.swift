import Foundation
import Scorecard

/// Fuzzing: 10 when the project is fuzzed, else 0. Detected as the official CLI does in local mode:
/// ClusterFuzzLite (`.clusterfuzzlite/Dockerfile`), and language fuzz harnesses or property-based tests in source
/// files (Go `func FuzzX(f *testing.F)`, libFuzzer `LLVMFuzzerTestOneInput` in C, C++ and Swift, Rust
/// `libfuzzer_sys`, Python atheris, Java Jazzer, fast-check, QuickCheck-style Haskell/Erlang/Elixir/C#/F#/Gleam).
/// OSS-Fuzz enrolment needs the network (the official CLI looks the project up in the OSS-Fuzz repository).
public struct FuzzingCheck: Check {
    public let name = "Fuzzing"
    public let shortDescription = "Determines if the project uses fuzzing."

    struct Spec {
        let extensions: Set<String>
        let suffix: String?
        let pattern: Pattern
        let tool: String
    }

    static let specs: [Spec] = [
        Spec(extensions: ["go"], suffix: "_test.go", pattern: Pattern(#"func\s+Fuzz\w+\s*\(\w+\s+\*testing.F\)"#),
             tool: "GoBuiltInFuzzer"),
        Spec(extensions: ["erl", "hrl"], suffix: nil,
             pattern: Pattern(#"-include_lib\("(eqc|proper)/include/(eqc|proper).hrl"\)\."#), tool: "ErlangPropertyBasedTesting"),
        Spec(extensions: ["hs", "lhs"], suffix: nil,
             pattern: Pattern(#"import\s+(qualified\s+)?Test\.((Hspec|Tasty)\.)?(QuickCheck|Hedgehog|Validity|SmallCheck)"#),
             tool: "HaskellPropertyBasedTesting"),
        Spec(extensions: ["ex", "exs"], suffix: nil, pattern: Pattern(#"use\s+(PropCheck|ExUnitProperties)"#),
             tool: "ElixirPropertyBasedTesting"),
        Spec(extensions: ["gleam"], suffix: nil, pattern: Pattern(#"import\s+qcheck"#), tool: "GleamPropertyBasedTesting"),
        Spec(extensions: ["js", "jsx"], suffix: nil,
             pattern: Pattern(#"(from\s+['"](fast-check|@fast-check/(ava|jest|vitest))['"]|require\(\s*['"](fast-check|@fast-check/(ava|jest|vitest))['"]\s*\))"#),
             tool: "JavaScriptPropertyBasedTesting"),
        Spec(extensions: ["ts", "tsx"], suffix: nil,
             pattern: Pattern(#"(from\s+['"](fast-check|@fast-check/(ava|jest|vitest))['"]|require\(\s*['"](fast-check|@fast-check/(ava|jest|vitest))['"]\s*\))"#),
             tool: "TypeScriptPropertyBasedTesting"),
        Spec(extensions: ["py"], suffix: nil, pattern: Pattern(#"import atheris"#), tool: "PythonAtherisFuzzer"),
        Spec(extensions: ["c"], suffix: nil, pattern: Pattern(#"LLVMFuzzerTestOneInput"#), tool: "CLibFuzzer"),
        Spec(extensions: ["cc", "cpp"], suffix: nil, pattern: Pattern(#"LLVMFuzzerTestOneInput"#), tool: "CppLibFuzzer"),
        Spec(extensions: ["rs"], suffix: nil, pattern: Pattern(#"libfuzzer_sys"#), tool: "RustCargoFuzzer"),
        Spec(extensions: ["java"], suffix: nil, pattern: Pattern(#"com.code_intelligence.jazzer.api.FuzzedDataProvider;"#),
             tool: "JavaJazzerFuzzer"),
        Spec(extensions: ["swift"], suffix: nil, pattern: Pattern(#"LLVMFuzzerTestOneInput"#), tool: "SwiftLibFuzzer"),
        Spec(extensions: ["cs"], suffix: nil,
             pattern: Pattern(#"(using\s+(FsCheck|FsCheck\.(NUnit|Xunit)|Expecto\.ExpectoFsCheck));"#),
             tool: "CSharpPropertyBasedTesting"),
        Spec(extensions: ["fs"], suffix: nil,
             pattern: Pattern(#"(open\s+(FsCheck|FsCheck\.(NUnit|Xunit)|Expecto\.ExpectoFsCheck))"#),
             tool: "FSharpPropertyBasedTesting"),
    ]

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        var tools: [String] = []
        if context.index.contains(".clusterfuzzlite/Dockerfile") {
            tools.append("ClusterFuzzLite")
            details.info("ClusterFuzzLite integration found", at: Location(".clusterfuzzlite/Dockerfile"))
        }
        for spec in Self.specs {
            let match = context.index.files(withExtensions: spec.extensions).first { file in
                if file.isTestData { return false }
                if let suffix = spec.suffix, !file.path.hasSuffix(suffix) { return false }
                guard let text = context.text(file.path) else { return false }
                return spec.pattern.matches(text)
            }
            if let match {
                tools.append(spec.tool)
                details.info("\(spec.tool) integration found", at: Location(match.path))
            }
        }
        if tools.isEmpty {
            details.warn("no fuzzer integrations found")
            return result(0, "project is not fuzzed", details)
        }
        return result(10, "project is fuzzed", details)
    }
}
