import Domain
import Foundation

/// When a periodic job fires: every fixed interval (aligned to the Unix epoch, so every process agrees
/// on the slots) or by a five-field cron expression in UTC (`minute hour day-of-month month day-of-week`,
/// with `*`, lists `1,2`, ranges `1-5` and steps `*/15`).
public enum Schedule: Sendable, Equatable, CustomStringConvertible {
    case every(Duration)
    case cron(CronExpression)

    /// Parses `@every 30s` / `@every 5m` / `@every 1h` or a cron expression.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("@every ") {
            guard let d = parseDuration(String(trimmed.dropFirst(7))), d > .zero else {
                throw ScheduleError("'\(text)': @every needs a duration such as 30s, 5m or 1h")
            }
            self = .every(d)
        } else {
            self = .cron(try CronExpression(trimmed))
        }
    }

    /// The first slot strictly after `date`.
    public func next(after date: Date) -> Date {
        switch self {
        case .every(let interval):
            let step = interval.seconds
            return Date(timeIntervalSince1970: (floor(date.timeIntervalSince1970 / step) + 1) * step)
        case .cron(let cron):
            return cron.next(after: date)
        }
    }

    public var description: String {
        switch self {
        case .every(let d): "@every \(d)"
        case .cron(let c): c.text
        }
    }
}

public struct ScheduleError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A parsed five-field cron expression, evaluated in UTC.
public struct CronExpression: Sendable, Equatable {
    public let text: String
    let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    let anyDay: Bool, anyWeekday: Bool

    public init(_ text: String) throws {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else { throw ScheduleError("'\(text)': a cron expression has 5 fields") }
        self.text = text
        minutes = try Self.field(fields[0], 0...59, text)
        hours = try Self.field(fields[1], 0...23, text)
        days = try Self.field(fields[2], 1...31, text)
        months = try Self.field(fields[3], 1...12, text)
        // 0 and 7 are both Sunday.
        weekdays = Set(try Self.field(fields[4], 0...7, text).map { $0 % 7 })
        anyDay = fields[2] == "*"
        anyWeekday = fields[4] == "*"
    }

    static func field(_ text: String, _ range: ClosedRange<Int>, _ whole: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "/", maxSplits: 1)
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else { throw ScheduleError("'\(whole)': bad step in '\(part)'") }
                step = s
            }
            let span: ClosedRange<Int>
            if pieces[0] == "*" {
                span = range
            } else if let dash = pieces[0].firstIndex(of: "-") {
                guard let lo = Int(pieces[0][..<dash]), let hi = Int(pieces[0][pieces[0].index(after: dash)...]), lo <= hi,
                    range.contains(lo), range.contains(hi)
                else { throw ScheduleError("'\(whole)': bad range '\(part)'") }
                span = lo...hi
            } else {
                guard let v = Int(pieces[0]), range.contains(v) else { throw ScheduleError("'\(whole)': '\(part)' is outside \(range)") }
                span = v...(pieces.count == 2 ? range.upperBound : v)
            }
            values.formUnion(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }
        return values
    }

    /// The first matching minute strictly after `date`.
    public func next(after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var t = calendar.date(bySetting: .second, value: 0, of: date.addingTimeInterval(60)) ?? date.addingTimeInterval(60)
        if t <= date { t = t.addingTimeInterval(60) }
        // Skips whole months, days and hours that cannot match; bounded to five years of search.
        let limit = date.addingTimeInterval(5 * 366 * 86_400)
        while t < limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            if !months.contains(c.month!) {
                t = calendar.date(from: DateComponents(year: c.year!, month: c.month! + 1, day: 1))!
                continue
            }
            let dayMatches = days.contains(c.day!), weekdayMatches = weekdays.contains(c.weekday! - 1)
            // Cron's rule: when both day fields are restricted, either may match.
            let dayOK = anyDay && anyWeekday ? true : anyDay ? weekdayMatches : anyWeekday ? dayMatches : (dayMatches || weekdayMatches)
            if !dayOK {
                t = calendar.date(from: DateComponents(year: c.year!, month: c.month!, day: c.day! + 1))!
                continue
            }
            if !hours.contains(c.hour!) {
                t = calendar.date(from: DateComponents(year: c.year!, month: c.month!, day: c.day!, hour: c.hour! + 1))!
                continue
            }
            if !minutes.contains(c.minute!) {
                t = t.addingTimeInterval(60)
                continue
            }
            return t
        }
        return limit
    }
}

