using Linda.Beanstalk.Protocol;
using Xunit;
using static Linda.Tests.Beanstalk.Wire;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// How every command line of the beanstalkd 1.12 protocol parses, good and malformed. The expected
/// outcomes were taken from a real beanstalkd 1.12 (Debian's package, one connection per line); where
/// beanstalkd's answer shows how it parsed (KICKED n, how long reserve-with-timeout waited, stats-job),
/// the comment says what it answered. A command record's text is C#'s record ToString.
/// </summary>
public sealed class ProtocolSpec
{
    private const string BadFormat = "BAD_FORMAT";
    private const string Unknown = "UNKNOWN_COMMAND";
    private static readonly string Name200 = new('a', 200);
    private static readonly string Name201 = new('a', 201);

    /// <summary>Parses one line (CRLF added) and checks that it used exactly the line.</summary>
    private static string Parse(string line)
    {
        var input = Bytes(line + "\r\n");
        var frame = new FrameReader().Read(new(input));
        Assert.False(frame.NeedsMoreData, $"no frame for {line}");
        Assert.Equal(input.Length, frame.Consumed);
        return Describe(frame);
    }

    // ================================================================ lines that are no command

    public static TheoryData<string, string> NoCommand => new()
    {
        { "", Unknown },                        // beanstalkd: UNKNOWN_COMMAND
        { "nonsense", Unknown },
        { "PUT 1 0 1 1", Unknown },             // names are case-sensitive
        { "put\t1 0 1 1", Unknown },            // only a space separates
        { "qui", Unknown },
        { "list-tube", Unknown },
        { "\0", BadFormat },                    // a NUL anywhere is BAD_FORMAT, even before the name
        { "use foo\0bar", BadFormat },
        { "nonsense\0", BadFormat },
    };

    [Theory, MemberData(nameof(NoCommand))]
    public void A_line_that_starts_with_no_command_name_is_UNKNOWN_COMMAND_and_a_NUL_is_BAD_FORMAT(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ put (the line; bodies in FramingSpec)

    // Each line is followed by an empty body and its CRLF. A put whose line is refused does not read a
    // body, so that CRLF is then an empty line of its own: beanstalkd answers "put -1 0 1 1\r\nx\r\n"
    // with BAD_FORMAT and then UNKNOWN_COMMAND.
    private const string Refused = "BAD_FORMAT, UNKNOWN_COMMAND";

    public static TheoryData<string, string> PutLines => new()
    {
        { "put 1 2 3 0", "put 1 2 3 \"\"" },
        { "put  1  2  3  0", "put 1 2 3 \"\"" },           // beanstalkd: INSERTED (spaces before each number are skipped)
        { "put 4294967295 4294967295 4294967295 0", "put 4294967295 4294967295 4294967295 \"\"" }, // beanstalkd: INSERTED
        { "put 1 0 0 0", "put 1 0 1 \"\"" },               // beanstalkd: stats-job says ttr: 1
        { "put 007 0 1 00000", "put 7 0 1 \"\"" },          // leading zeros are fine
        { "put", "UNKNOWN_COMMAND, UNKNOWN_COMMAND" },      // beanstalkd: UNKNOWN_COMMAND ("put " is the name)
        { "put ", Refused },
        { "put 1 2 3", Refused },                           // missing size
        { "put 1 2 3 0 ", Refused },                        // trailing space
        { "put 1 2 3 0x", Refused },
        { "put 1 2 3 0 4", Refused },                       // extra argument
        { "put -1 0 1 0", Refused },                        // beanstalkd: BAD_FORMAT (no signs)
        { "put +1 0 1 0", Refused },                        // beanstalkd: BAD_FORMAT
        { "put 1\t0 1 0", Refused },
        { "put 4294967296 0 1 0", Refused },                // beanstalkd: BAD_FORMAT for 2^32 as priority, delay, ttr or size
        { "put 0 4294967296 1 0", Refused },
        { "put 0 0 4294967296 0", Refused },
        { "put 0 0 0 4294967296", Refused },
        { "put 1 0 1 18446744073709551616", Refused },
        { "put 1 0 1 99999999999999999999", Refused },
        { "put a 0 1 0", Refused },
    };

    [Theory, MemberData(nameof(PutLines))]
    public void Put_takes_four_unsigned_32_bit_numbers_and_raises_ttr_0_to_1(string line, string expected) =>
        Assert.Equal(expected, string.Join(", ", Items(line + "\r\n\r\n")));

    // ================================================================ commands that take a tube name

    public static TheoryData<string, string> TubeLines => new()
    {
        { "use default", "Use { Tube = default }" },
        { "use " + Name200, $"Use {{ Tube = {Name200} }}" },        // beanstalkd: USING aaa...
        { "use " + Name201, BadFormat },                            // names are at most 200 bytes
        { "use A-Za-z0-9+/;.$_()", "Use { Tube = A-Za-z0-9+/;.$_() }" }, // the whole name alphabet
        { "use f-oo", "Use { Tube = f-oo }" },
        { "use -foo", BadFormat },                                  // may not start with '-'
        { "use fo*o", BadFormat },
        { "use foo\x80", BadFormat },
        { "use foo bar", BadFormat },
        { "use foo ", BadFormat },                                  // trailing space
        { "use  foo", BadFormat },                                  // the name is all that follows "use "
        { "use ", BadFormat },
        { "use", Unknown },
        { "watch foo", "Watch { Tube = foo }" },
        { "watch " + Name201, BadFormat },
        { "watch -x", BadFormat },
        { "watch ", BadFormat },
        { "watch", Unknown },
        { "ignore foo", "Ignore { Tube = foo }" },
        { "ignore -x", BadFormat },
        { "ignore", Unknown },
        { "stats-tube default", "StatsTube { Tube = default }" },
        { "stats-tube " + Name201, BadFormat },
        { "stats-tube -x", BadFormat },
        { "stats-tube ", BadFormat },
        { "stats-tube", BadFormat },                                // matches "stats", which takes nothing after it
    };

    [Theory, MemberData(nameof(TubeLines))]
    public void Use_watch_ignore_and_stats_tube_take_exactly_one_valid_name(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ commands that take a job id

    public static TheoryData<string, string> IdLines => new()
    {
        { "delete 5", "Delete { Id = 5 }" },
        { "delete 007", "Delete { Id = 7 }" },
        { "delete  5", "Delete { Id = 5 }" },                       // spaces before the number are skipped
        { "delete 18446744073709551615", "Delete { Id = 18446744073709551615 }" }, // ids are 64-bit
        { "delete 18446744073709551616", BadFormat },
        { "delete", Unknown },                                      // beanstalkd: UNKNOWN_COMMAND
        { "delete ", BadFormat },                                   // beanstalkd: BAD_FORMAT
        { "delete +1", BadFormat },
        { "delete -1", BadFormat },
        { "delete 1 2", BadFormat },
        { "delete 5 ", BadFormat },
        { "delete x", BadFormat },
        { "peek 99999", "Peek { Id = 99999 }" },
        { "peek", Unknown },
        { "peek ", BadFormat },
        { "peek 1x", BadFormat },
        { "touch 5", "Touch { Id = 5 }" },
        { "touch", Unknown },
        { "touch x", BadFormat },
        { "kick-job 5", "KickJob { Id = 5 }" },
        { "kick-job", Unknown },
        { "kick-job x", BadFormat },
        { "reserve-job 5", "ReserveJob { Id = 5 }" },
        { "reserve-job", BadFormat },                               // matches "reserve", which takes nothing after it
        { "reserve-job x", BadFormat },
        { "stats-job 99999", "StatsJob { Id = 99999 }" },
        { "stats-job  99999", "StatsJob { Id = 99999 }" },
        { "stats-job 18446744073709551615", "StatsJob { Id = 18446744073709551615 }" }, // beanstalkd: NOT_FOUND
        { "stats-job 18446744073709551616", BadFormat },
        { "stats-job -1", BadFormat },
        { "stats-job  5 ", BadFormat },
        { "stats-job x", BadFormat },
        { "stats-job ", BadFormat },
        { "stats-job", BadFormat },                                 // matches "stats"
    };

    [Theory, MemberData(nameof(IdLines))]
    public void Job_commands_take_one_unsigned_64_bit_id_and_nothing_after_it(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    public static TheoryData<string, string> ReleaseAndBuryLines => new()
    {
        { "release 99999 1 1", "Release { Id = 99999, Priority = 1, DelaySeconds = 1 }" },
        { "release 5 4294967295 4294967295", "Release { Id = 5, Priority = 4294967295, DelaySeconds = 4294967295 }" },
        { "release  5  1  2", "Release { Id = 5, Priority = 1, DelaySeconds = 2 }" },
        { "release 99999 1", BadFormat },
        { "release 99999 1 4294967296", BadFormat },
        { "release 99999 4294967296 1", BadFormat },
        { "release 1 1 1 ", BadFormat },
        { "release 1 1 -1", BadFormat },
        { "release", Unknown },
        { "bury 99999 1", "Bury { Id = 99999, Priority = 1 }" },
        { "bury 99999", BadFormat },
        { "bury 99999 -1", BadFormat },
        { "bury 1 4294967296", BadFormat },
        { "bury 1 2 3", BadFormat },
        { "bury", Unknown },
    };

    [Theory, MemberData(nameof(ReleaseAndBuryLines))]
    public void Release_and_bury_take_an_id_then_32_bit_numbers(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ kick and reserve-with-timeout: C strtoul / strtol

    public static TheoryData<string, string> KickLines => new()
    {
        { "kick 0", "Kick { Bound = 0 }" },
        { "kick 5", "Kick { Bound = 5 }" },
        { "kick  5", "Kick { Bound = 5 }" },
        { "kick 2x", "Kick { Bound = 2 }" },                        // beanstalkd, 3 buried: KICKED 2 (trailing text ignored)
        { "kick +2", "Kick { Bound = 2 }" },                        // beanstalkd, 3 buried: KICKED 2
        { "kick -1", "Kick { Bound = 4294967295 }" },               // beanstalkd, 3 buried: KICKED 3
        { "kick 4294967297", "Kick { Bound = 1 }" },                // beanstalkd, 3 buried: KICKED 1 (wraps modulo 2^32)
        { "kick -4294967295", "Kick { Bound = 1 }" },               // beanstalkd, 3 buried: KICKED 1
        { "kick 4294967296", "Kick { Bound = 0 }" },
        { "kick 18446744073709551615", "Kick { Bound = 4294967295 }" },
        { "kick 99999999999999999999", BadFormat },                 // past 64 bits: strtoul's ERANGE
        { "kick x", BadFormat },                                    // no digits
        { "kick -", BadFormat },
        { "kick ", BadFormat },
        { "kick", Unknown },
    };

    [Theory, MemberData(nameof(KickLines))]
    public void Kick_reads_its_bound_like_C_strtoul_cast_to_unsigned(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    public static TheoryData<string, string> ReserveLines => new()
    {
        { "reserve", "Reserve { }" },
        { "reserve ", BadFormat },
        { "reservex", BadFormat },                                         // matches "reserve"
        { "reserve-with-timeout 0", "ReserveWithTimeout { TimeoutSeconds = 0 }" },
        { "reserve-with-timeout  0", "ReserveWithTimeout { TimeoutSeconds = 0 }" },
        { "reserve-with-timeout -0", "ReserveWithTimeout { TimeoutSeconds = 0 }" },
        { "reserve-with-timeout 0abc", "ReserveWithTimeout { TimeoutSeconds = 0 }" },
        { "reserve-with-timeout abc", "ReserveWithTimeout { TimeoutSeconds = 0 }" },  // beanstalkd: TIMED_OUT at once
        { "reserve-with-timeout ", "ReserveWithTimeout { TimeoutSeconds = 0 }" },     // beanstalkd: TIMED_OUT at once
        { "reserve-with-timeout 4294967296", "ReserveWithTimeout { TimeoutSeconds = 0 }" }, // beanstalkd: TIMED_OUT at once
        { "reserve-with-timeout -4294967295", "ReserveWithTimeout { TimeoutSeconds = 1 }" }, // beanstalkd: TIMED_OUT after 1 s
        { "reserve-with-timeout  1x", "ReserveWithTimeout { TimeoutSeconds = 1 }" },  // beanstalkd: TIMED_OUT after 1 s
        { "reserve-with-timeout -1", "ReserveWithTimeout { TimeoutSeconds = -1 }" },  // beanstalkd: waits for ever
        { "reserve-with-timeout 2147483648", "ReserveWithTimeout { TimeoutSeconds = -2147483648 }" },
        { "reserve-with-timeout 9223372036854775807", "ReserveWithTimeout { TimeoutSeconds = -1 }" },
        { "reserve-with-timeout 9223372036854775808", BadFormat },                     // past a 64-bit long: ERANGE
        { "reserve-with-timeout -9223372036854775808", "ReserveWithTimeout { TimeoutSeconds = 0 }" },
        { "reserve-with-timeout -9223372036854775809", BadFormat },
        { "reserve-with-timeout 99999999999999999999", BadFormat },                    // beanstalkd: BAD_FORMAT
        { "reserve-with-timeout", BadFormat },                                         // matches "reserve"
    };

    [Theory, MemberData(nameof(ReserveLines))]
    public void Reserve_with_timeout_reads_its_timeout_like_C_strtol_cast_to_int(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ commands without arguments

    public static TheoryData<string, string> BareLines => new()
    {
        { "peek-ready", "PeekReady { }" },
        { "peek-ready ", BadFormat },
        { "peek-delayed", "PeekDelayed { }" },
        { "peek-delayed x", BadFormat },
        { "peek-buried", "PeekBuried { }" },
        { "peek-buried x", BadFormat },
        { "stats", "Stats { }" },
        { "stats ", BadFormat },
        { "statsx", BadFormat },
        { "list-tubes", "ListTubes { }" },
        { "list-tubes ", BadFormat },
        { "list-tubesx", BadFormat },
        { "list-tube-used", "ListTubeUsed { }" },
        { "list-tube-used ", BadFormat },
        { "list-tubes-watched", "ListTubesWatched { }" },
        { "list-tubes-watched ", BadFormat },
        { "quit", "Quit { }" },
        { "quitx", "Quit { }" },                // beanstalkd closes the connection: "quit" is matched as a prefix
        { "quit now", "Quit { }" },
    };

    [Theory, MemberData(nameof(BareLines))]
    public void Commands_without_arguments_allow_nothing_after_their_name_except_quit(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ pause-tube

    public static TheoryData<string, string> PauseLines => new()
    {
        { "pause-tube default 0", "PauseTube { Tube = default, DelaySeconds = 0 }" },
        { "pause-tube default 4294967295", "PauseTube { Tube = default, DelaySeconds = 4294967295 }" },
        { "pause-tube  default  0", "PauseTube { Tube = default, DelaySeconds = 0 }" }, // beanstalkd: PAUSED
        { "pause-tubedefault 0", "PauseTube { Tube = default, DelaySeconds = 0 }" },    // beanstalkd: PAUSED (no space needed)
        { $"pause-tube {Name200} 1", $"PauseTube {{ Tube = {Name200}, DelaySeconds = 1 }}" },
        { $"pause-tube {Name201} 1", BadFormat },
        { "pause-tube -x 1", BadFormat },
        { "pause-tube default", BadFormat },
        { "pause-tube default10", BadFormat },  // digits belong to the name: no delay left
        { "pause-tube default 1 ", BadFormat },
        { "pause-tube default -1", BadFormat },
        { "pause-tube default 4294967296", BadFormat },
        { "pause-tube de*fault 1", BadFormat },
        { "pause-tube ", BadFormat },
        { "pause-tube", BadFormat },            // matched as a prefix, then no name
    };

    [Theory, MemberData(nameof(PauseLines))]
    public void Pause_tube_reads_a_name_then_a_32_bit_delay(string line, string expected) =>
        Assert.Equal(expected, Parse(line));

    // ================================================================ limits

    [Fact]
    public void Every_command_of_the_protocol_parses()
    {
        string[] lines =
        [
            "put 0 0 1 0", "use t", "reserve", "reserve-with-timeout 1", "reserve-job 1", "delete 1", "release 1 2 3",
            "bury 1 2", "touch 1", "watch t", "ignore t", "peek 1", "peek-ready", "peek-delayed", "peek-buried",
            "kick 1", "kick-job 1", "stats-job 1", "stats-tube t", "stats", "list-tubes", "list-tube-used",
            "list-tubes-watched", "pause-tube t 1", "quit",
        ];
        var types = lines.Select(line => new FrameReader().Read(new(Bytes(line + "\r\n\r\n"))).Command?.GetType()).ToList();

        Assert.DoesNotContain(null, types);
        var all = typeof(Command).GetNestedTypes().Where(t => t.IsSubclassOf(typeof(Command)));
        Assert.Equal(all.OrderBy(t => t.Name), types.OrderBy(t => t!.Name));
    }

    [Fact]
    public void Tube_names_follow_beanstalkds_rules()
    {
        Assert.True(TubeName.IsValid("default"));
        Assert.True(TubeName.IsValid(Name200));
        Assert.True(TubeName.IsValid("a-"));
        Assert.False(TubeName.IsValid(Name201));
        Assert.False(TubeName.IsValid(""));
        Assert.False(TubeName.IsValid("-a"));
        Assert.False(TubeName.IsValid("a b"));
        Assert.False(TubeName.IsValid("é"));
    }
}
