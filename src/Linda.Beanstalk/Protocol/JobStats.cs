namespace Linda.Beanstalk.Protocol;

/// <summary>A job's state in beanstalkd's words, as <c>stats-job</c> prints it.</summary>
public enum BeanstalkJobState
{
    /// <summary><c>ready</c>: waiting to be reserved.</summary>
    Ready,

    /// <summary><c>delayed</c>: waiting for its delay to pass.</summary>
    Delayed,

    /// <summary><c>reserved</c>: held by a client until deleted, released, buried or its ttr passes.</summary>
    Reserved,

    /// <summary><c>buried</c>: waiting for a kick.</summary>
    Buried,
}

/// <summary>
/// The answer to <c>stats-job</c>, in beanstalkd 1.12's key order. Times are whole seconds.
/// Written by <see cref="Replies.StatsJob"/>.
/// </summary>
public sealed record JobStats
{
    /// <summary><c>id</c>: the job id.</summary>
    public required ulong Id { get; init; }

    /// <summary><c>tube</c>: the tube that holds the job.</summary>
    public required string Tube { get; init; }

    /// <summary><c>state</c>.</summary>
    public required BeanstalkJobState State { get; init; }

    /// <summary><c>pri</c>: the priority set by put, release or bury.</summary>
    public uint Priority { get; init; }

    /// <summary><c>age</c>: seconds since the put that created the job.</summary>
    public long Age { get; init; }

    /// <summary><c>delay</c>: the delay of the last put or release, in seconds.</summary>
    public long Delay { get; init; }

    /// <summary><c>ttr</c>: the time to run, in seconds.</summary>
    public long Ttr { get; init; }

    /// <summary><c>time-left</c>: seconds until a reserved job times out or a delayed job is ready; 0 otherwise.</summary>
    public long TimeLeft { get; init; }

    /// <summary><c>file</c>: the earliest binlog file holding the job; 0 without a binlog.</summary>
    public int File { get; init; }

    /// <summary><c>reserves</c>: how often the job was reserved.</summary>
    public uint Reserves { get; init; }

    /// <summary><c>timeouts</c>: how often a reservation of the job timed out.</summary>
    public uint Timeouts { get; init; }

    /// <summary><c>releases</c>: how often the job was released.</summary>
    public uint Releases { get; init; }

    /// <summary><c>buries</c>: how often the job was buried.</summary>
    public uint Buries { get; init; }

    /// <summary><c>kicks</c>: how often the job was kicked.</summary>
    public uint Kicks { get; init; }
}
