using Linda.Beanstalk.Protocol;
using Xunit;
using static Linda.Tests.Beanstalk.Wire;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// How <see cref="FrameReader"/> cuts bytes into commands: pipelining, put bodies (binary, split across
/// reads), the 224-byte line limit, JOB_TOO_BIG and EXPECTED_CRLF. Each case that names beanstalkd was
/// sent to a real beanstalkd 1.12, and its replies are the ones in the comment.
/// </summary>
public sealed class FramingSpec
{
    private const string UsingDefault = "ListTubeUsed { }";

    /// <summary>A put line of exactly <paramref name="length"/> bytes with its CRLF (spaces are allowed before numbers).</summary>
    private static string PutLine(int length) => "put " + new string(' ', length - "put 0 0 1 1\r\n".Length) + "0 0 1 1\r\n";

    // ================================================================ pipelining and bodies

    [Fact]
    public void Pipelined_commands_come_out_one_by_one_in_order()
    {
        // beanstalkd: USING foo, USING foo, INSERTED 12, OK 20 ...
        Assert.Equal(
            ["Use { Tube = foo }", UsingDefault, "put 1 0 1 \"x\"", "ListTubes { }"],
            Items("use foo\r\nlist-tube-used\r\nput 1 0 1 1\r\nx\r\nlist-tubes\r\n"));
    }

    [Fact]
    public void Each_frame_consumes_exactly_its_own_bytes()
    {
        var reader = new FrameReader();
        var input = Bytes("use foo\r\nput 1 0 1 3\r\nabc\r\nquit\r\n");

        var first = reader.Read(new(input));
        var second = reader.Read(new(input[9..]));
        var third = reader.Read(new(input[(9 + 18)..]));

        Assert.Equal((9L, 18L, 6L), (first.Consumed, second.Consumed, third.Consumed));
        Assert.IsType<Command.Quit>(third.Command);
    }

    [Fact]
    public void A_body_keeps_CR_and_LF_inside_it()
    {
        // beanstalkd: "put 1 0 1 6\r\n\r\n\r\n\r\n\r\nlist-tube-used\r\n" gives INSERTED, USING default
        Assert.Equal(["put 1 0 1 \"\\r\\n\\r\\n\\r\\n\"", UsingDefault], Items("put 1 0 1 6\r\n\r\n\r\n\r\n\r\nlist-tube-used\r\n"));
        Assert.Equal(["put 1 0 1 \"a\\r\\nb\""], Items("put 1 0 1 4\r\na\r\nb\r\n")); // beanstalkd: INSERTED
    }

    [Fact]
    public void A_body_is_copied_exactly_whatever_its_bytes()
    {
        var body = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(Bytes("\r\n\0\r")).ToArray();
        var input = Bytes($"put 0 0 1 {body.Length}\r\n").Concat(body).Concat(Bytes("\r\n")).ToArray();

        var frame = new FrameReader().Read(new(input));

        var put = Assert.IsType<Command.Put>(frame.Command);
        Assert.Equal(body, put.Body);
        Assert.Equal(input.Length, frame.Consumed);
    }

    [Fact]
    public void A_body_of_zero_bytes_still_needs_its_CRLF()
    {
        Assert.Equal(["put 1 0 1 \"\""], Items("put 1 0 1 0\r\n\r\n")); // beanstalkd: INSERTED
        // beanstalkd: "put 1 0 1 0\r\nXYlist-tube-used\r\n" gives EXPECTED_CRLF, USING default
        Assert.Equal(["EXPECTED_CRLF", UsingDefault], Items("put 1 0 1 0\r\nXYlist-tube-used\r\n"));
    }

    [Fact]
    public void A_body_not_followed_by_CRLF_is_EXPECTED_CRLF_and_its_two_extra_bytes_are_used_up()
    {
        // beanstalkd: "put 1 0 1 3\r\nabcXYlist-tube-used\r\n" gives EXPECTED_CRLF, USING default
        Assert.Equal(["EXPECTED_CRLF", UsingDefault], Items("put 1 0 1 3\r\nabcXYlist-tube-used\r\n"));
        Assert.Equal(["EXPECTED_CRLF", UsingDefault], Items("put 1 0 1 3\r\nabc\rXlist-tube-used\r\n"));
        Assert.Equal(["EXPECTED_CRLF", UsingDefault], Items("put 1 0 1 3\r\nabc\n\rlist-tube-used\r\n"));
    }

    [Fact]
    public void A_put_line_that_is_refused_reads_no_body_so_the_body_is_taken_as_a_command()
    {
        // beanstalkd: "put -1 0 1 1\r\nx\r\n" gives BAD_FORMAT, UNKNOWN_COMMAND
        Assert.Equal(["BAD_FORMAT", "UNKNOWN_COMMAND"], Items("put -1 0 1 1\r\nx\r\n"));
        Assert.Equal(["BAD_FORMAT", UsingDefault], Items("put 1 0 1 14 \r\nlist-tube-used\r\n"));
    }

    // ================================================================ JOB_TOO_BIG

    [Fact]
    public void A_body_of_exactly_the_maximum_size_is_taken()
    {
        var body = new string('a', 65535);
        Assert.Equal([$"put 1 0 1 \"{body}\""], Items($"put 1 0 1 65535\r\n{body}\r\n")); // beanstalkd: INSERTED
    }

    [Fact]
    public void A_body_over_the_maximum_is_skipped_with_its_CRLF_then_answered_JOB_TOO_BIG()
    {
        var body = new string('a', 65536);
        // beanstalkd: JOB_TOO_BIG, USING default
        Assert.Equal(["JOB_TOO_BIG", UsingDefault], Items($"put 1 0 1 65536\r\n{body}\r\nlist-tube-used\r\n"));
        // beanstalkd: the size is checked before trailing text, so this is JOB_TOO_BIG too
        Assert.Equal(["JOB_TOO_BIG", UsingDefault], Items($"put 1 0 1 65536 junk\r\n{body}\r\nlist-tube-used\r\n"));
        // beanstalkd: a skipped body's last two bytes are not checked
        Assert.Equal(["JOB_TOO_BIG", UsingDefault], Items($"put 1 0 1 65536\r\n{body}XYlist-tube-used\r\n"));
    }

    [Fact]
    public void The_maximum_job_size_is_a_parameter()
    {
        Assert.Equal(["put 0 0 1 \"0123456789\""], Items("put 0 0 1 10\r\n0123456789\r\n", maxJobSize: 10));
        Assert.Equal(["JOB_TOO_BIG"], Items("put 0 0 1 11\r\n0123456789a\r\n", maxJobSize: 10));
        Assert.Equal(["put 0 0 1 \"\"", "JOB_TOO_BIG"], Items("put 0 0 1 0\r\n\r\nput 0 0 1 1\r\nx\r\n", maxJobSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameReader(-1));
    }

    [Fact]
    public void A_too_big_body_is_skipped_as_it_arrives_not_buffered()
    {
        var reader = new FrameReader();
        var line = Bytes("put 0 0 1 4294967295\r\n");

        var header = reader.Read(new(line));
        var some = reader.Read(new(new byte[100_000]));

        Assert.Equal((true, (long)line.Length), (header.NeedsMoreData, header.Consumed));
        Assert.Equal((true, 100_000L), (some.NeedsMoreData, some.Consumed));
    }

    // ================================================================ the 224-byte line limit

    [Fact]
    public void A_line_of_224_bytes_with_its_CRLF_is_taken()
    {
        Assert.Equal(["put 0 0 1 \"x\""], Items(PutLine(224) + "x\r\n")); // beanstalkd: INSERTED
        Assert.Equal(["UNKNOWN_COMMAND", UsingDefault], Items(new string('x', 222) + "\r\nlist-tube-used\r\n")); // beanstalkd: same
    }

    [Fact]
    public void A_line_of_225_bytes_is_BAD_FORMAT_and_swallows_the_next_line()
    {
        // Its CR ends the first 224-byte block, which is dropped; its LF starts the next block, which is
        // dropped up to the next line end. beanstalkd: BAD_FORMAT, USING default.
        Assert.Equal(["BAD_FORMAT", UsingDefault], Items(PutLine(225) + "list-tube-used\r\nlist-tube-used\r\n"));
        Assert.Equal(["BAD_FORMAT"], Items(PutLine(225) + "x\r\n")); // beanstalkd: BAD_FORMAT only
    }

    [Fact]
    public void A_line_of_226_bytes_is_BAD_FORMAT_and_the_next_lines_are_read()
    {
        // beanstalkd: BAD_FORMAT, USING default, USING default
        Assert.Equal(["BAD_FORMAT", UsingDefault, UsingDefault], Items(PutLine(226) + "list-tube-used\r\nlist-tube-used\r\n"));
    }

    [Fact]
    public void A_long_line_is_dropped_in_224_byte_blocks_until_a_block_has_a_line_end()
    {
        // 447 x + CRLF: the CR is the last byte of the second block, so the third block's line (the
        // command) is the one that ends the drop. beanstalkd: BAD_FORMAT only.
        Assert.Equal(["BAD_FORMAT"], Items(new string('x', 447) + "\r\nlist-tube-used\r\n"));
        // beanstalkd: BAD_FORMAT, USING default
        Assert.Equal(["BAD_FORMAT", UsingDefault], Items(new string('x', 224) + "\nlist-tube-used\r\nlist-tube-used\r\n"));
        Assert.Equal(["BAD_FORMAT", UsingDefault], Items(new string('x', 5000) + "\r\nlist-tube-used\r\n"));
    }

    [Fact]
    public void A_long_line_is_used_up_block_by_block_while_it_arrives()
    {
        var reader = new FrameReader();

        var first = reader.Read(new(Bytes(new string('x', 500))));
        var rest = reader.Read(new(Bytes(new string('x', 52) + "\r\nstats\r\n")));

        Assert.Equal((true, 448L), (first.NeedsMoreData, first.Consumed));
        Assert.Equal((ProtocolError.BadFormat, 54L), (rest.Error, rest.Consumed));
    }

    [Fact]
    public void A_CR_not_followed_by_LF_means_no_line_ends_before_224_bytes_as_in_beanstalkd()
    {
        // beanstalkd only looks at the line's first CR. It answered nothing to this:
        var (items, left) = Feed(new FrameReader(), [Bytes("list-tube-used\rx\r\nlist-tube-used\r\n")]);
        Assert.Empty(items);
        Assert.Equal(34, left);

        // ... and once 224 bytes had come, it dropped them and went on to the next line end. beanstalkd:
        // BAD_FORMAT then seven USING default (the drop ends inside the 13th command).
        var input = "list-tube-used\rx\r\n" + string.Concat(Enumerable.Repeat("list-tube-used\r\n", 20));
        Assert.Equal(["BAD_FORMAT", .. Enumerable.Repeat(UsingDefault, 7)], Items(input));
    }

    [Fact]
    public void A_bare_LF_does_not_end_a_line()
    {
        // beanstalkd: "list-tube-used\nlist-tube-used\r\n" is one line with trailing garbage: BAD_FORMAT
        Assert.Equal(["BAD_FORMAT"], Items("list-tube-used\nlist-tube-used\r\n"));
    }

    // ================================================================ split reads

    [Fact]
    public void Nothing_is_used_up_until_a_line_is_complete()
    {
        var reader = new FrameReader();

        var partial = reader.Read(new(Bytes("list-tube-us")));
        var justCr = reader.Read(new(Bytes("list-tube-used\r")));
        var empty = reader.Read(new(Array.Empty<byte>()));

        Assert.Equal((true, 0L), (partial.NeedsMoreData, partial.Consumed));
        Assert.Equal((true, 0L), (justCr.NeedsMoreData, justCr.Consumed));
        Assert.Equal((true, 0L), (empty.NeedsMoreData, empty.Consumed));
    }

    [Fact]
    public void A_body_split_across_reads_is_used_up_as_it_arrives()
    {
        var reader = new FrameReader();

        var line = reader.Read(new(Bytes("put 0 0 1 5\r\nhe")));
        var middle = reader.Read(new(Bytes("llo\r")));
        var end = reader.Read(new(Bytes("\nstats\r\n")));

        Assert.Equal((true, 15L), (line.NeedsMoreData, line.Consumed));
        Assert.Equal((true, 4L), (middle.NeedsMoreData, middle.Consumed));
        Assert.Equal(("put 0 0 1 \"hello\"", 1L), (Describe(end), end.Consumed));
    }

    [Fact]
    public void Reads_split_anywhere_give_what_beanstalkd_gave()
    {
        // beanstalkd, sent in these pieces: USING default, INSERTED, USING default
        string[] pieces = ["list-tu", "be-used\r", "\nput 1 0 1 5\r\nhe", "llo", "\r", "\nlist-tube-used\r\n"];
        var (items, left) = Feed(new FrameReader(), pieces.Select(Bytes));
        Assert.Equal([UsingDefault, "put 1 0 1 \"hello\"", UsingDefault], items);
        Assert.Equal(0, left);
    }

    /// <summary>
    /// A transcript with every kind of frame, including a long line and a skipped body. beanstalkd -z 10
    /// answered it (with a timeout of 0): USING foo, INSERTED 1, TIMED_OUT, UNKNOWN_COMMAND, BAD_FORMAT,
    /// EXPECTED_CRLF, JOB_TOO_BIG, BAD_FORMAT, and closed the connection.
    /// </summary>
    private static readonly byte[] Transcript = Bytes(
        "use foo\r\nput 1 2 3 5\r\na\r\nb\0\r\nreserve-with-timeout 7\r\nbogus\r\n" +
        PutLine(225) + "eaten\r\nput 0 0 1 3\r\nabcXYput 0 0 1 12\r\n0123456789ab\r\n" +
        "delete 9 \r\nquit\r\n");

    private static readonly List<string> TranscriptItems =
    [
        "Use { Tube = foo }", "put 1 2 3 \"a\\r\\nb\\x00\"", "ReserveWithTimeout { TimeoutSeconds = 7 }",
        "UNKNOWN_COMMAND", "BAD_FORMAT", "EXPECTED_CRLF", "JOB_TOO_BIG", "BAD_FORMAT", "Quit { }",
    ];

    [Fact]
    public void The_transcript_gives_its_frames_at_once()
    {
        var (items, left) = Feed(new FrameReader(maxJobSize: 10), [Transcript]);
        Assert.Equal(TranscriptItems, items);
        Assert.Equal(0, left);
    }

    [Fact]
    public void The_transcript_cut_in_two_anywhere_gives_the_same_frames()
    {
        for (var cut = 0; cut <= Transcript.Length; cut++)
        {
            var (items, left) = Feed(new FrameReader(maxJobSize: 10), Split(Transcript, cut));
            Assert.True(TranscriptItems.SequenceEqual(items) && left == 0, $"cut at {cut}: {string.Join(" | ", items)}");
        }
    }

    [Fact]
    public void The_transcript_fed_byte_by_byte_gives_the_same_frames()
    {
        var (items, left) = Feed(new FrameReader(maxJobSize: 10), Transcript.Select(b => new[] { b }));
        Assert.Equal(TranscriptItems, items);
        Assert.Equal(0, left);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(224)]
    public void The_transcript_in_a_buffer_of_many_segments_gives_the_same_frames(int segmentSize)
    {
        var (items, left) = Feed(new FrameReader(maxJobSize: 10), [Transcript], segmentSize);
        Assert.Equal(TranscriptItems, items);
        Assert.Equal(0, left);
    }
}
