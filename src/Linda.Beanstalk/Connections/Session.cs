using System.IO.Pipelines;
using Akka.Actor;
using Linda.Beanstalk.Protocol;
using static Linda.Beanstalk.BeanstalkProtocol;
using Cmd = Linda.Beanstalk.FrontEndCounters.Cmd;

namespace Linda.Beanstalk;

/// <summary>
/// A reply owed to a command that went out without waiting: <see cref="Reply"/> (null for a command
/// answered on the spot) is awaited in order and handed to <see cref="Write"/>, which may still ask
/// again (a queue that moved) before it writes.
/// </summary>
internal readonly record struct Owed(Task<JobQueue.IReply>? Reply, Func<JobQueue.IReply?, PipeWriter, ValueTask> Write);

/// <summary>
/// One client's beanstalkd session (beanstalkd's command dispatch, <c>prot.c</c>, over its connection
/// state): the tube it uses, the tubes it watches, the jobs it holds, and what each command does. A
/// command either goes out at once (<see cref="TryPipeline"/>: puts, verdicts on held jobs, reserves
/// that don't wait, and commands answered on the spot), its reply owed and written in order once it
/// comes, or runs on its own (<see cref="Run"/>) after the replies owed before it are written.
/// </summary>
internal sealed partial class Session
{
    // A reserve without timeout waits in rounds of this length (a queue refuses waits beyond its max delay).
    private static readonly TimeSpan ReserveRound = TimeSpan.FromHours(1);

    private readonly FrontEndCounters _counters;
    private readonly BeanstalkServerOptions _options;
    private readonly TubeCache _tubes;
    private readonly QueueLink _link;
    private readonly ConnectionLeases _leases = new();
    private readonly TubeReserve _reserve;
    private readonly StatsReplies _stats;
    private readonly CancellationToken _closed;
    private readonly List<string> _watched = ["default"];
    private string _used = "default";
    private bool _producer, _worker;
    private int _reservesOwed;

    public Session(TubeCache tubes, QueueLink link, FrontEndCounters counters, BeanstalkServerOptions options, CancellationToken closed)
    {
        _tubes = tubes;
        _link = link;
        _counters = counters;
        _options = options;
        _closed = closed;
        _reserve = new TubeReserve(link, counters, closed);
        _stats = new StatsReplies(link, tubes, counters, options);
        Interlocked.Increment(ref counters.Tube(_used).Using);
        Interlocked.Increment(ref counters.Tube("default").Watching);
    }

    /// <summary>The connection uses and watches "default": it exists (and is numbered) from the first connection on.</summary>
    public async Task Open()
    {
        try
        {
            await _tubes.Get("default");
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException or InvalidOperationException)
        {
            // Looked up again by the first command that needs it.
        }
    }

    /// <summary>The connection closed: its counts end.</summary>
    public void Close()
    {
        Interlocked.Decrement(ref _counters.Tube(_used).Using);
        foreach (var tube in _watched)
            Interlocked.Decrement(ref _counters.Tube(tube).Watching);
        if (_producer)
            Interlocked.Decrement(ref _counters.CurrentProducers);
        if (_worker)
            Interlocked.Decrement(ref _counters.CurrentWorkers);
    }

    // ================================================================ commands that go out at once

    /// <summary>
    /// Sends <paramref name="command"/> without waiting for the replies owed before it, when its order
    /// allows (it does not depend on them): returns the reply it owes; null when it must <see cref="Run"/>.
    /// </summary>
    public Owed? TryPipeline(Command command)
    {
        switch (command)
        {
            case Command.Put put when !_counters.Draining && _tubes.TryKnown(_used, out var tube):
                _counters.Count(Cmd.Put);
                Producing();
                return PipelinedPut(tube, Push(put));
            case Command.Delete delete when _leases.TryGet(delete.Id, out var lease):
                _counters.Count(Cmd.Delete);
                return OnHeld(delete.Id, lease, new JobQueue.Complete(lease.JobId, lease.Token), WriteDeleted);
            case Command.Release release when _leases.TryGet(release.Id, out var lease):
                _counters.Count(Cmd.Release);
                return OnHeld(release.Id, lease, Release(release, lease), WriteVerdict);
            case Command.Bury bury when _leases.TryGet(bury.Id, out var lease):
                _counters.Count(Cmd.Bury);
                return OnHeld(bury.Id, lease, Bury(bury, lease), WriteVerdict);
            case Command.Touch touch when _leases.TryGet(touch.Id, out var lease):
                _counters.Count(Cmd.Touch);
                return OnHeld(touch.Id, lease, new JobQueue.Touch(lease.JobId, lease.Token), WriteVerdict);
            case Command.Reserve or Command.ReserveWithTimeout:
                return TryPipelineReserve(command);
            case Command.Use use when _tubes.TryKnown(use.Tube, out _):
                _counters.Count(Cmd.Use);
                UseTube(use.Tube);
                return Answered(w => Replies.Using(w, use.Tube));
            case Command.ListTubeUsed:
                _counters.Count(Cmd.ListTubeUsed);
                var used = _used;
                return Answered(w => Replies.Using(w, used));
            case Command.Watch watch when _tubes.TryKnown(watch.Tube, out _):
                _counters.Count(Cmd.Watch);
                var watching = WatchTube(watch.Tube);
                return Answered(w => Replies.Watching(w, watching));
            case Command.Ignore ignore:
                _counters.Count(Cmd.Ignore);
                var ignored = IgnoreTube(ignore.Tube);
                return Answered(w =>
                {
                    if (ignored is { } count)
                        Replies.Watching(w, count);
                    else
                        Replies.NotIgnored(w);
                });
            case Command.ListTubesWatched:
                _counters.Count(Cmd.ListTubesWatched);
                var list = _watched.ToArray();
                return Answered(w => Replies.TubeList(w, list));
            default:
                return null;
        }
    }

    /// <summary>A reply written on the spot, in its turn.</summary>
    private static Owed Answered(Action<PipeWriter> write) => new(null, (_, output) =>
    {
        write(output);
        return ValueTask.CompletedTask;
    });

    private Owed PipelinedPut(Tube tube, JobQueue.Push push) => new(_link.Send(tube.Queue, push), async (answer, output) =>
    {
        if (answer is JobQueue.Unavailable)
            // The tube's queue stopped or is moving to another node and the push was not applied: send it again.
            answer = await _link.Ask(tube, push);
        WriteInserted(output, tube, answer);
    });

    private static void WriteInserted(PipeWriter output, Tube tube, JobQueue.IReply? answer)
    {
        if (answer is JobQueue.Pushed pushed)
            Replies.Inserted(output, WireIds.Of(tube.Number, pushed.Seq));
        else
            Replies.InternalError(output);
    }

    /// <summary>
    /// A command on a job this connection holds, sent at once. Its lease ends as it goes (commands
    /// after it see the job no longer held) and is settled by the answer (<see cref="ConnectionLeases.Answered"/>).
    /// </summary>
    private Owed OnHeld(ulong id, ConnectionLeases.Lease lease, JobQueue.ILeaseCommand command, Func<ulong, JobQueue.IReply?, PipeWriter, ValueTask> write)
    {
        _leases.Ending(id);
        return new Owed(_link.Send(lease.Tube.Queue, command), async (answer, output) =>
        {
            if (answer is JobQueue.Unavailable)
                answer = await _link.Ask(lease.Tube, command);
            _leases.Answered(id, lease, answer);
            await write(id, answer, output);
        });
    }

    private async ValueTask WriteDeleted(ulong id, JobQueue.IReply? answer, PipeWriter output)
    {
        var tube = WireIds.TubeOf(id);
        // Its lease ended meanwhile: beanstalkd deletes a ready, delayed or buried job, and answers
        // NOT_FOUND for a job another connection has reserved.
        if (answer is JobQueue.StaleLease or JobQueue.NotReserved)
            (answer, _) = await DeleteUnheld(id);
        WriteDeleted(output, answer, _tubes.NameOf(tube));
    }

    private void WriteDeleted(PipeWriter output, JobQueue.IReply? answer, string? tube)
    {
        if (answer is JobQueue.Completed or JobQueue.Deleted)
        {
            if (tube is not null)
                Interlocked.Increment(ref _counters.Tube(tube).CmdDelete);
            Replies.Deleted(output);
        }
        else
            NotFoundOrError(output, answer);
    }

    private static ValueTask WriteVerdict(ulong id, JobQueue.IReply? answer, PipeWriter output)
    {
        switch (answer)
        {
            case JobQueue.Buried:
                Replies.Buried(output);
                break;
            case JobQueue.Released:
                Replies.Released(output);
                break;
            case JobQueue.Touched:
                Replies.Touched(output);
                break;
            default:
                NotFoundOrError(output, answer);
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A reserve on the one tube watched that will not wait (its timeout is 0, or a held job's lease is
    /// in its last second), sent at once; a reserve that may wait runs on its own, and so does one after
    /// another reserve still owed (its DEADLINE_SOON depends on what that one gets).
    /// </summary>
    private Owed? TryPipelineReserve(Command command)
    {
        var timeout = Timeout(command);
        if (_reservesOwed > 0 || _watched.Count != 1 || !_tubes.TryKnown(_watched[0], out var tube))
            return null;
        var now = _options.Time.GetUtcNow();
        var soon = _leases.DeadlineSoonAt(now) <= now;
        if (!soon && timeout != TimeSpan.Zero)
            return null;
        _counters.Count(command is Command.Reserve ? Cmd.Reserve : Cmd.ReserveWithTimeout);
        Working();
        _reservesOwed++;
        return new Owed(_link.Send(tube.Queue, new JobQueue.Reserve(TimeSpan.Zero)), async (answer, output) =>
        {
            _reservesOwed--;
            switch (answer)
            {
                case JobQueue.Reserved reserved:
                    Reserved(output, tube, reserved);
                    break;
                case JobQueue.ReserveTimedOut when soon:
                    Replies.DeadlineSoon(output);
                    break;
                case JobQueue.ReserveTimedOut:
                    Replies.TimedOut(output);
                    break;
                default:
                    // The queue moved or did not answer: the reserve is done again the long way.
                    await Reserve(timeout, output);
                    break;
            }
        });
    }

    private static TimeSpan? Timeout(Command command) =>
        command is Command.ReserveWithTimeout { TimeoutSeconds: >= 0 } r ? TimeSpan.FromSeconds(r.TimeoutSeconds) : null;

}
