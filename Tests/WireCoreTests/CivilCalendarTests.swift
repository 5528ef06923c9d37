import Foundation
import Testing
import WireCore

@Suite struct CivilCalendarTests {
    @Test func knownDates() {
        #expect(CivilCalendar.daysSinceUnixEpoch(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilCalendar.daysSinceUnixEpoch(year: 2000, month: 1, day: 1) == 10_957)
        #expect(CivilCalendar.daysSinceUnixEpoch(year: 1969, month: 12, day: 31) == -1)
        #expect(CivilCalendar.daysSinceUnixEpoch(year: 2024, month: 2, day: 29) == 19_782)
        #expect(CivilCalendar.daysSinceUnixEpoch(year: 1, month: 1, day: 1) == -719_162)
        #expect(CivilCalendar.date(daysSinceUnixEpoch: 19_782) == (2024, 2, 29))
        #expect(CivilCalendar.date(daysSinceUnixEpoch: -719_162) == (1, 1, 1))
        #expect(CivilCalendar.daysIn(month: 2, year: 1900) == 28)
        #expect(CivilCalendar.daysIn(month: 2, year: 2000) == 29)
    }

    /// Every day from 1600 to 2400 agrees with Foundation's Gregorian calendar both ways.
    @Test func agreesWithFoundationAcrossFourCenturies() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = CivilCalendar.daysSinceUnixEpoch(year: 1600, month: 1, day: 1)
        let end = CivilCalendar.daysSinceUnixEpoch(year: 2400, month: 12, day: 31)
        var mismatches = 0
        for days in stride(from: start, through: end, by: 1) {
            let date = Date(timeIntervalSince1970: Double(days) * 86_400)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let ours = CivilCalendar.date(daysSinceUnixEpoch: days)
            if parts.year != ours.year || parts.month != ours.month || parts.day != ours.day { mismatches += 1 }
            if CivilCalendar.daysSinceUnixEpoch(year: ours.year, month: ours.month, day: ours.day) != days { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
