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
internal sealed class Session
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

    // ================================================================ commands that run on their own

    /// <summary>
    /// Runs one command that <see cref="TryPipeline"/> did not take, on its own, writing its reply; false
    /// when the connection should close. A tube
    /// hub that can't be reached in time (it is moving to another node) or that refuses a tube is
    /// answered <c>INTERNAL_ERROR</c>, and the connection stays open.
    /// </summary>
    public async Task<bool> Run(Command command, PipeWriter output)
    {
        try
        {
            return await Execute(command, output);
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException or InvalidOperationException)
        {
            Replies.InternalError(output);
            return true;
        }
    }

    private async Task<bool> Execute(Command command, PipeWriter output)
    {
        switch (command)
        {
            case Command.Quit:
                return false;
            case Command.Put put:
                _counters.Count(Cmd.Put);
                if (_counters.Draining)
                {
                    Replies.Draining(output);
                    break;
                }
                Producing();
                var tube = await _tubes.Get(_used);
                var push = Push(put);
                WriteInserted(output, tube, await _link.Ask(tube, push));
                break;
            case Command.Use use:
                _counters.Count(Cmd.Use);
                await _tubes.Get(use.Tube); // the tube exists from now on (numbered in the hub's directory)
                UseTube(use.Tube);
                Replies.Using(output, _used);
                break;
            case Command.Watch watch:
                _counters.Count(Cmd.Watch);
                await _tubes.Get(watch.Tube);
                Replies.Watching(output, WatchTube(watch.Tube));
                break;
            case Command.Reserve or Command.ReserveWithTimeout:
                _counters.Count(command is Command.Reserve ? Cmd.Reserve : Cmd.ReserveWithTimeout);
                Working();
                await Reserve(Timeout(command), output);
                break;
            case Command.ReserveJob r:
                _counters.Count(Cmd.Reserve);
                await ReserveJob(r.Id, output);
                break;
            case Command.Delete delete:
                // Not held (a held job's delete goes out at once).
                _counters.Count(Cmd.Delete);
                var (deleted, of) = await DeleteUnheld(delete.Id);
                WriteDeleted(output, deleted, of?.Name);
                break;
            case Command.Release:
                _counters.Count(Cmd.Release);
                Replies.NotFound(output); // only on a job this connection holds
                break;
            case Command.Bury:
                _counters.Count(Cmd.Bury);
                Replies.NotFound(output);
                break;
            case Command.Touch:
                _counters.Count(Cmd.Touch);
                Replies.NotFound(output);
                break;
            case Command.Peek peek:
                _counters.Count(Cmd.Peek);
                await OnJob(peek.Id, output, id => new JobQueue.Peek(id), (w, id, reply) => Found(w, id, reply));
                break;
            case Command.PeekReady:
                _counters.Count(Cmd.PeekReady);
                await PeekUsed(JobQueue.PeekReady.Instance, output);
                break;
            case Command.PeekDelayed:
                _counters.Count(Cmd.PeekDelayed);
                await PeekUsed(JobQueue.PeekDelayed.Instance, output);
                break;
            case Command.PeekBuried:
                _counters.Count(Cmd.PeekBuried);
                await PeekUsed(JobQueue.PeekBuried.Instance, output);
                break;
            case Command.Kick kick:
                _counters.Count(Cmd.Kick);
                await Kick(kick.Bound, output);
                break;
            case Command.KickJob kick:
                _counters.Count(Cmd.Kick);
                await OnJob(kick.Id, output, id => new JobQueue.KickJob(id), (w, _, reply) =>
                {
                    if (reply is JobQueue.KickedJob)
                        Replies.Kicked(w);
                    else
                        NotFoundOrError(w, reply);
                });
                break;
            case Command.StatsJob stats:
                _counters.Count(Cmd.StatsJob);
                await OnJob(stats.Id, output, id => new JobQueue.GetJob(id), (w, id, reply) =>
                {
                    if (reply is JobView view)
                        _stats.StatsJob(w, id, view);
                    else
                        NotFoundOrError(w, reply);
                });
                break;
            case Command.StatsTube stats:
                _counters.Count(Cmd.StatsTube);
                await _stats.StatsTube(stats.Tube, output);
                break;
            case Command.Stats:
                _counters.Count(Cmd.Stats);
                await _stats.Stats(output);
                break;
            case Command.ListTubes:
                _counters.Count(Cmd.ListTubes);
                await _stats.ListTubes(output);
                break;
            case Command.PauseTube pause:
                _counters.Count(Cmd.PauseTube);
                await PauseTube(pause, output);
                break;
            default:
                Replies.InternalError(output);
                break;
        }
        return true;
    }

    // ================================================================ the pieces

    private void Producing()
    {
        if (!_producer)
        {
            _producer = true;
            Interlocked.Increment(ref _counters.CurrentProducers);
        }
    }

    private void Working()
    {
        if (!_worker)
        {
            _worker = true;
            Interlocked.Increment(ref _counters.CurrentWorkers);
        }
    }

    private JobQueue.Push Push(Command.Put put) => new(_used, JobPayload.Raw("beanstalk", put.Body))
    {
        Priority = put.Priority,
        Delay = TimeSpan.FromSeconds(put.DelaySeconds),
        TimeToRun = TimeSpan.FromSeconds(Math.Max(1u, put.TtrSeconds)), // beanstalkd raises ttr 0 to 1
        MaxRetries = -1, // beanstalkd never buries a job on its own
    };

    private static JobQueue.Release Release(Command.Release release, ConnectionLeases.Lease lease) => new(lease.JobId, lease.Token)
    {
        Priority = release.Priority,
        Delay = TimeSpan.FromSeconds(release.DelaySeconds),
    };

    private static JobQueue.Bury Bury(Command.Bury bury, ConnectionLeases.Lease lease) =>
        new(lease.JobId, lease.Token, "buried by a beanstalkd client") { Priority = bury.Priority };

    private void UseTube(string name)
    {
        Interlocked.Decrement(ref _counters.Tube(_used).Using);
        _used = name;
        Interlocked.Increment(ref _counters.Tube(_used).Using);
    }

    private int WatchTube(string name)
    {
        if (!_watched.Contains(name))
        {
            _watched.Add(name);
            Interlocked.Increment(ref _counters.Tube(name).Watching);
        }
        return _watched.Count;
    }

    /// <summary>Stops watching a tube: the count watched, or null when it is the last (beanstalkd's NOT_IGNORED).</summary>
    private int? IgnoreTube(string name)
    {
        if (_watched.Count == 1 && _watched[0] == name)
            return null;
        if (_watched.Remove(name))
            Interlocked.Decrement(ref _counters.Tube(name).Watching);
        return _watched.Count;
    }

    private async Task Reserve(TimeSpan? timeout, PipeWriter output)
    {
        var until = _options.Time.GetUtcNow() + timeout;
        while (true)
        {
            var tubes = new List<Tube>(_watched.Count);
            foreach (var name in _watched)
                tubes.Add(await _tubes.Get(name));
            var now = _options.Time.GetUtcNow();
            var soon = _leases.DeadlineSoonAt(now);
            if (soon <= now || until <= now || tubes.Count > 1)
            {
                // Take a ready job at once if there is one (from the best tube when several are watched).
                if (await _reserve.Now(tubes) is { } ready)
                {
                    Reserved(output, ready.Tube, ready.Reserved);
                    return;
                }
                if (soon <= now)
                {
                    Replies.DeadlineSoon(output);
                    return;
                }
                if (until <= now)
                {
                    Replies.TimedOut(output);
                    return;
                }
            }
            var wait = until is { } u ? u - now : ReserveRound;
            var cappedBySoon = soon is { } s && s - now < wait;
            if (cappedBySoon)
                wait = soon!.Value - now;
            // Replies written before this one go out before it waits.
            await output.FlushAsync(_closed);
            var (got, interrupted) = await _reserve.Waiting(tubes, wait);
            if (got is not null)
            {
                Reserved(output, got.Tube, got.Reserved);
                return;
            }
            if (_closed.IsCancellationRequested)
                return;
            if (interrupted)
            {
                // A queue stopped or is moving to another node: look the tubes up again and wait on.
                foreach (var tube in tubes)
                    _tubes.Forget(tube.Name);
                await Task.Delay(_link.AskAgain.FirstPause, _options.Time, _closed);
                continue;
            }
            if (cappedBySoon)
            {
                Replies.DeadlineSoon(output);
                return;
            }
            if (until is not null)
            {
                Replies.TimedOut(output);
                return;
            }
        }
    }

    private void Reserved(PipeWriter output, Tube tube, JobQueue.Reserved reserved)
    {
        var id = WireIds.Of(tube.Number, reserved.Seq);
        _leases.Hold(id, tube, reserved);
        Replies.Reserved(output, id, reserved.Job.Payload.Body.Span);
    }

    private async Task ReserveJob(ulong id, PipeWriter output)
    {
        if (await _tubes.Find(WireIds.TubeOf(id)) is not { } tube)
        {
            Replies.NotFound(output);
            return;
        }
        switch (await _link.Ask(tube, new JobQueue.ReserveJob(WireIds.JobRef(id))))
        {
            case JobQueue.Reserved reserved:
                Reserved(output, tube, reserved);
                break;
            case var reply:
                NotFoundOrError(output, reply);
                break;
        }
    }

    /// <summary>Deletes a job this connection does not hold, unless someone else holds it (beanstalkd's rule).</summary>
    private async Task<(JobQueue.IReply? Reply, Tube? Tube)> DeleteUnheld(ulong id) =>
        await _tubes.Find(WireIds.TubeOf(id)) is { } tube
            ? (await _link.Ask(tube, new JobQueue.Delete(WireIds.JobRef(id)) { SpareLeased = true }), tube)
            : (new JobQueue.NotFound(id.ToString(System.Globalization.CultureInfo.InvariantCulture)), null);

    /// <summary>A command on the job with wire id <paramref name="id"/>, whatever tube holds it.</summary>
    private async Task OnJob(ulong id, PipeWriter output, Func<string, JobQueue.IJobCommand> command, Action<PipeWriter, ulong, JobQueue.IReply?> answer)
    {
        if (await _tubes.Find(WireIds.TubeOf(id)) is not { } tube)
        {
            Replies.NotFound(output);
            return;
        }
        var reply = await _link.Ask(tube, command(WireIds.JobRef(id)));
        if (reply is JobView view)
            answer(output, id, view with { Job = view.Job with { Queue = tube.Name } });
        else
            answer(output, id, reply);
    }

    private static void Found(PipeWriter output, ulong id, JobQueue.IReply? reply)
    {
        if (reply is JobView view)
            Replies.Found(output, id, view.Job.Payload.Body.Span);
        else
            NotFoundOrError(output, reply);
    }

    private async Task PeekUsed(JobQueue.ICommand peek, PipeWriter output)
    {
        var tube = await _tubes.Get(_used);
        var reply = await _link.Ask(tube, peek);
        if (reply is JobView view)
            Replies.Found(output, WireIds.Of(tube.Number, view.Seq), view.Job.Payload.Body.Span);
        else
            NotFoundOrError(output, reply);
    }

    private async Task Kick(uint bound, PipeWriter output)
    {
        var tube = await _tubes.Get(_used);
        if (await _link.Ask(tube, new JobQueue.Kick((int)Math.Min(bound, int.MaxValue))) is JobQueue.Kicked kicked)
            Replies.Kicked(output, (uint)kicked.Count);
        else
            Replies.InternalError(output);
    }

    private async Task PauseTube(Command.PauseTube pause, PipeWriter output)
    {
        if (await _stats.ExistingTube(pause.Tube) is not { } existing)
        {
            Replies.NotFound(output);
            return;
        }
        var usage = _counters.Tube(pause.Tube);
        Interlocked.Increment(ref usage.CmdPauseTube);
        JobQueue.ICommand command = pause.DelaySeconds == 0 ? JobQueue.Resume.Instance : new JobQueue.Pause(TimeSpan.FromSeconds(pause.DelaySeconds));
        if (await _link.Ask(existing.Tube, command) is JobQueue.Paused or JobQueue.Resumed)
        {
            usage.PauseSeconds = pause.DelaySeconds;
            Replies.Paused(output);
        }
        else
            Replies.InternalError(output);
    }

    private static void NotFoundOrError(PipeWriter output, JobQueue.IReply? reply)
    {
        if (reply is JobQueue.NotFound or JobQueue.NoJob or JobQueue.Leased or JobQueue.StaleLease or JobQueue.NotReserved or JobQueue.NotKickable)
            Replies.NotFound(output);
        else
            Replies.InternalError(output);
    }
}
