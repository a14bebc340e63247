using Linda.Beanstalk;
using Xunit;

namespace Linda.Tests.Beanstalk;

/// <summary>
/// <see cref="WireIds"/>: a beanstalkd job id is the tube's number in the high 24 bits and the job's
/// sequence number in its tube in the low 40; the two come back out of it, and a command names the job
/// by the sequence number in digits.
/// </summary>
public sealed class WireIdsSpec
{
    private const long Seqs = 1L << 40; // sequence numbers are below this

    [Fact]
    public void The_layout_is_24_bits_of_tube_and_40_bits_of_job()
    {
        Assert.Equal(40, WireIds.JobBits);
        Assert.Equal(1L << 24, WireIds.MaxTubes);
    }

    [Fact]
    public void Tube_0_gives_the_ids_1_2_3()
    {
        Assert.Equal([1UL, 2UL, 3UL], new[] { 1L, 2L, 3L }.Select(seq => WireIds.Of(0, seq)));
        Assert.Equal(1000UL, WireIds.Of(0, 1000));
    }

    [Fact]
    public void Tube_1_starts_at_2_to_the_40_plus_1()
    {
        Assert.Equal(1_099_511_627_777UL, WireIds.Of(1, 1));
        Assert.Equal((1UL << 40) + 1, WireIds.Of(1, 1));
        Assert.Equal((1UL << 40) + 2, WireIds.Of(1, 2));
        Assert.Equal((2UL << 40) + 1, WireIds.Of(2, 1));
        // The last job of tube 0 is just below the first of tube 1.
        Assert.Equal(WireIds.Of(1, 1) - 2, WireIds.Of(0, Seqs - 1));
    }

    public static TheoryData<long, long> Pairs => new()
    {
        { 0, 1 },
        { 0, 2 },
        { 0, 123_456_789 },
        { 0, Seqs - 1 },
        { 1, 1 },
        { 1, Seqs - 1 },
        { 2, 42 },
        { 255, 256 },
        { 4096, 1L << 39 },
        { WireIds.MaxTubes - 1, 1 },
        { WireIds.MaxTubes - 1, Seqs - 1 },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Of_TubeOf_and_SeqOf_round_trip(long tube, long seq)
    {
        var id = WireIds.Of(tube, seq);
        Assert.Equal(tube, WireIds.TubeOf(id));
        Assert.Equal(seq, WireIds.SeqOf(id));
        Assert.Equal(((ulong)tube << 40) | (ulong)seq, id);
    }

    [Fact]
    public void The_highest_id_is_the_largest_64_bit_number()
    {
        Assert.Equal(ulong.MaxValue, WireIds.Of(WireIds.MaxTubes - 1, Seqs - 1));
        Assert.Equal(WireIds.MaxTubes - 1, WireIds.TubeOf(ulong.MaxValue));
        Assert.Equal(Seqs - 1, WireIds.SeqOf(ulong.MaxValue));
    }

    [Fact]
    public void Ids_of_one_tube_follow_the_sequence_numbers_and_tubes_do_not_overlap()
    {
        var ids = new List<ulong>();
        for (long tube = 0; tube < 4; tube++)
            for (long seq = 1; seq <= 3; seq++)
                ids.Add(WireIds.Of(tube, seq));
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    public static TheoryData<ulong, string> Refs => new()
    {
        { 1UL, "1" },
        { 42UL, "42" },
        { (1UL << 40) + 1, "1" },
        { (7UL << 40) + 1_000_000, "1000000" },
        { ulong.MaxValue, "1099511627775" },
    };

    [Theory]
    [MemberData(nameof(Refs))]
    public void JobRef_is_the_sequence_number_in_digits(ulong id, string expected)
    {
        Assert.Equal(expected, WireIds.JobRef(id));
        Assert.True(Names.IsDigits(WireIds.JobRef(id)));
        Assert.NotEqual('0', WireIds.JobRef(id)[0]);
    }

    [Fact]
    public void JobRef_of_a_wire_id_is_what_the_queue_calls_the_job()
    {
        // The queue names job 5 "5" when its id was generated; a command names any job by that number.
        Assert.Equal("5", WireIds.JobRef(WireIds.Of(3, 5)));
        Assert.Equal(WireIds.JobRef(WireIds.Of(0, 5)), WireIds.JobRef(WireIds.Of(9, 5)));
    }

    public static TheoryData<long> BadSeqs => new() { 0, -1, long.MinValue, Seqs, Seqs + 1, long.MaxValue };

    [Theory]
    [MemberData(nameof(BadSeqs))]
    public void Of_refuses_a_sequence_number_outside_1_to_2_to_the_40_minus_1(long seq)
    {
        Assert.Throws<OverflowException>(() => WireIds.Of(0, seq));
        Assert.Throws<OverflowException>(() => WireIds.Of(5, seq));
    }

    public static TheoryData<long> BadTubes => new() { -1, long.MinValue, WireIds.MaxTubes, WireIds.MaxTubes + 1, long.MaxValue };

    [Theory]
    [MemberData(nameof(BadTubes))]
    public void Of_refuses_a_tube_number_outside_0_to_MaxTubes(long tube)
    {
        var e = Assert.Throws<OverflowException>(() => WireIds.Of(tube, 1));
        Assert.Contains(tube.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }
}
