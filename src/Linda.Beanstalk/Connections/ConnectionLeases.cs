namespace Linda.Beanstalk;

/// <summary>
/// The jobs a connection holds (beanstalkd's <c>conn.c</c>): by wire id, each with its tube, Linda id,
/// lease token and deadline. Only its holder may release, bury or touch a job; a job whose lease ran
/// out is no longer held (the queue gave it back); the last second of a held job's lease makes a
/// reserve answer <c>DEADLINE_SOON</c>.
/// </summary>
internal sealed class ConnectionLeases
{
    /// <summary>A job this connection holds.</summary>
    public sealed record Lease(BeanstalkProtocol.Tube Tube, string JobId, long Token, DateTimeOffset Deadline);

    /// <summary>beanstalkd's safety margin: the last second of a reservation.</summary>
    public static readonly TimeSpan SafetyMargin = TimeSpan.FromSeconds(1);

    private readonly Dictionary<ulong, Lease> _held = [];

    public bool TryGet(ulong id, out Lease lease) => _held.TryGetValue(id, out lease!);

    /// <summary>The connection holds job <paramref name="id"/> from now on (it was reserved).</summary>
    public void Hold(ulong id, BeanstalkProtocol.Tube tube, JobQueue.Reserved reserved) =>
        _held[id] = new Lease(tube, reserved.Job.Id, reserved.Token, reserved.Deadline);

    /// <summary>
    /// What a command on a held job came to: a touch moves the deadline, an answer that the command was
    /// not applied (a failed write, no answer) keeps the lease, any other answer ends it.
    /// </summary>
    public void Answered(ulong id, Lease lease, JobQueue.IReply? reply)
    {
        switch (reply)
        {
            case JobQueue.Touched touched:
                _held[id] = lease with { Deadline = touched.Deadline };
                break;
            case JobQueue.WriteFailed or JobQueue.Unavailable or null:
                _held[id] = lease;
                break;
            default:
                _held.Remove(id);
                break;
        }
    }

    /// <summary>The lease ends as the command on it is sent (so commands after it see it gone); <see cref="Answered"/> settles it.</summary>
    public void Ending(ulong id) => _held.Remove(id);

    /// <summary>When the safety margin of the soonest held lease begins, if any (leases that ran out are dropped).</summary>
    public DateTimeOffset? DeadlineSoonAt(DateTimeOffset now)
    {
        DateTimeOffset? soonest = null;
        List<ulong>? expired = null;
        foreach (var (id, lease) in _held)
        {
            if (lease.Deadline <= now)
            {
                // Its lease ran out: the queue has given the job back (beanstalkd's timeout).
                (expired ??= []).Add(id);
                continue;
            }
            if (soonest is null || lease.Deadline < soonest)
                soonest = lease.Deadline;
        }
        foreach (var id in expired ?? [])
            _held.Remove(id);
        return soonest - SafetyMargin;
    }
}
