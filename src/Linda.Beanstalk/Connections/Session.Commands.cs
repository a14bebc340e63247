using System.IO.Pipelines;
using Akka.Actor;
using Linda.Beanstalk.Protocol;
using static Linda.Beanstalk.BeanstalkProtocol;
using Cmd = Linda.Beanstalk.FrontEndCounters.Cmd;

namespace Linda.Beanstalk;

// The commands that run on their own (once the replies owed before them are written), and the pieces commands share.
internal sealed partial class Session
{
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
        Replies.Reserved(output, id, JobBody.Of(reserved.Job.Payload).Span);
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
            Replies.Found(output, id, JobBody.Of(view.Job.Payload).Span);
        else
            NotFoundOrError(output, reply);
    }

    private async Task PeekUsed(JobQueue.ICommand peek, PipeWriter output)
    {
        var tube = await _tubes.Get(_used);
        var reply = await _link.Ask(tube, peek);
        if (reply is JobView view)
            Replies.Found(output, WireIds.Of(tube.Number, view.Seq), JobBody.Of(view.Job.Payload).Span);
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
