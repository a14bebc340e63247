namespace Linda.Beanstalk;

/// <summary>
/// beanstalkd job ids on Linda's queues: a wire id is <c>tube number &lt;&lt; 40 | the job's sequence
/// number in its tube's queue</c>. The tube number comes from the <see cref="TubeHub"/>'s persisted
/// directory and the sequence number from the queue (<see cref="JobQueue.Pushed.Seq"/>,
/// <see cref="JobQueue.Reserved.Seq"/>, <see cref="JobView.Seq"/>), so every job in a tube has a wire
/// id, whatever its Linda id, and ids are never reused. Commands name a job by its sequence number
/// (see <see cref="JobQueue.IJobCommand.JobId"/>).
/// </summary>
public static class WireIds
{
    /// <summary>Bits of a wire id that hold the job's sequence number in its tube.</summary>
    public const int JobBits = 40;

    /// <summary>The most tubes a front end can number (the high bits of a 64-bit id).</summary>
    public const long MaxTubes = 1L << (64 - JobBits);

    private const ulong JobMask = (1UL << JobBits) - 1;

    /// <summary>The wire id of job <paramref name="seq"/> of tube <paramref name="tubeNumber"/>.</summary>
    /// <exception cref="OverflowException">The sequence number needs more than <see cref="JobBits"/> bits (a trillion jobs in one tube).</exception>
    public static ulong Of(long tubeNumber, long seq) =>
        seq is > 0 and <= (long)JobMask && tubeNumber is >= 0 and < MaxTubes
            ? (ulong)tubeNumber << JobBits | (ulong)seq
            : throw new OverflowException($"job {seq} of tube {tubeNumber} has no wire id");

    /// <summary>The number of the tube a wire id belongs to.</summary>
    public static long TubeOf(ulong id) => (long)(id >> JobBits);

    /// <summary>The job's sequence number in its tube.</summary>
    public static long SeqOf(ulong id) => (long)(id & JobMask);

    /// <summary>How a queue command names the job of wire id <paramref name="id"/>: its sequence number, in digits.</summary>
    public static string JobRef(ulong id) => SeqOf(id).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
