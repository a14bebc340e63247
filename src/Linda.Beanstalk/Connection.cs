using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Akka.Actor;
using Linda.Beanstalk.Protocol;
using static Linda.Beanstalk.BeanstalkProtocol;
using Cmd = Linda.Beanstalk.FrontEndCounters.Cmd;

namespace Linda.Beanstalk;

/// <summary>
/// One client: reads frames, runs its commands in order and writes the replies in order. Puts are sent
/// to their queue without waiting for the previous reply, so a client that pipelines puts gets them
/// written in one journal batch; every other command first waits for the replies owed before it.
/// </summary>
internal sealed class Connection
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    // The tube hub is asked in attempts of HubAttempt for up to HubTimeout (longer than a failover).
    private static readonly TimeSpan HubAttempt = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan HubTimeout = TimeSpan.FromSeconds(60);
    // A reserve without timeout waits in rounds of this length (a queue refuses waits beyond its max delay).
    private static readonly TimeSpan ReserveRound = TimeSpan.FromHours(1);
    // beanstalkd's safety margin: the last second of a reservation.
    private static readonly TimeSpan SafetyMargin = TimeSpan.FromSeconds(1);

    private sealed record Lease(Tube Tube, string JobId, long Token, DateTimeOffset Deadline);

    private readonly ActorSystem _system;
    private readonly IActorRef _hub;
    private readonly Socket _socket;
    private readonly int _maxJobSize;
    private readonly CancellationToken _stop;
    private readonly FrontEndCounters _counters;
    private readonly FrameReader _reader;
    private readonly InFlight _inFlight = new();
    private readonly HashSet<IActorRef> _watchedQueues = [];
    private readonly Dictionary<string, Tube> _tubes = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, Lease> _leases = [];
    private readonly List<string> _watched = ["default"];
    private readonly List<(Task<JobQueue.IReply> Reply, JobQueue.Push Push)> _puts = [];
    private readonly CancellationTokenSource _closed;
    private string _used = "default";
    private bool _producer, _worker;
    private IActorRef _agent = ActorRefs.Nobody;

    public Connection(ActorSystem system, IActorRef hub, Socket socket, int maxJobSize, FrontEndCounters counters, CancellationToken stop)
    {
        _system = system;
        _hub = hub;
        _socket = socket;
        _maxJobSize = maxJobSize;
        _counters = counters;
        _stop = stop;
        _reader = new FrameReader(maxJobSize);
        _closed = CancellationTokenSource.CreateLinkedTokenSource(stop);
    }

    public async Task Run()
    {
        _agent = _system.ActorOf(ConnectionAgent.Props(_inFlight));
        Interlocked.Increment(ref _counters.CurrentConnections);
        Interlocked.Increment(ref _counters.TotalConnections);
        Interlocked.Increment(ref _counters.Tube(_used).Using);
        Interlocked.Increment(ref _counters.Tube("default").Watching);
        await using var stream = new NetworkStream(_socket, ownsSocket: true);
        var output = PipeWriter.Create(stream);
        // Frames are read on their own, so that a client that closes while a command waits (a reserve) is
        // noticed at once: _closed then cancels the wait.
        var frames = Channel.CreateBounded<Frame>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
        var reading = Read(PipeReader.Create(stream), frames.Writer);
        try
        {
            // The connection uses and watches "default": it exists (and is numbered) from the first connection on.
            await TryTube("default");
            await foreach (var frame in frames.Reader.ReadAllAsync(_stop))
            {
                if (frame.Command is Command.Put put && !_counters.Draining)
                    StartPut(put);
                else
                {
                    await WritePuts(output);
                    if (frame.Error is { } error)
                        Replies.Error(output, error);
                    else if (!await TryExecute(frame.Command!, output))
                        break;
                }
                if (!frames.Reader.TryPeek(out _))
                {
                    await WritePuts(output);
                    await output.FlushAsync(_stop);
                }
            }
            await WritePuts(output);
            await output.FlushAsync(_stop);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away (or the server stops): nothing to answer.
        }
        finally
        {
            _system.Stop(_agent);
            await _closed.CancelAsync();
            await output.CompleteAsync();
            _socket.Dispose();
            await reading;
            _closed.Dispose();
            Interlocked.Decrement(ref _counters.CurrentConnections);
            Interlocked.Decrement(ref _counters.Tube(_used).Using);
            foreach (var tube in _watched)
                Interlocked.Decrement(ref _counters.Tube(tube).Watching);
            if (_producer)
                Interlocked.Decrement(ref _counters.CurrentProducers);
            if (_worker)
                Interlocked.Decrement(ref _counters.CurrentWorkers);
        }
    }

    /// <summary>Reads frames until the client closes (or the server stops), then cancels <see cref="_closed"/>.</summary>
    private async Task Read(PipeReader input, ChannelWriter<Frame> frames)
    {
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(_closed.Token);
                var buffer = read.Buffer;
                while (true)
                {
                    var frame = _reader.Read(buffer);
                    buffer = buffer.Slice(frame.Consumed);
                    if (frame.NeedsMoreData)
                        break;
                    await frames.WriteAsync(frame, _closed.Token);
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            frames.TryComplete();
            await _closed.CancelAsync();
            await input.CompleteAsync();
        }
    }

    // ================================================================ commands

    /// <summary>
    /// <see cref="Execute"/>, answering <c>INTERNAL_ERROR</c> when the tube hub can't be reached in time
    /// (it is moving to another node) or refuses a tube: the connection stays open.
    /// </summary>
    private async Task<bool> TryExecute(Command command, PipeWriter output)
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

    private async Task TryTube(string name)
    {
        try
        {
            await Tube(name);
        }
        catch (Exception e) when (e is AskTimeoutException or TimeoutException or InvalidOperationException)
        {
            // Looked up again by the first command that needs it.
        }
    }

    /// <summary>Runs one command (not a pipelined put), writing its reply; false when the connection should close.</summary>
    private async Task<bool> Execute(Command command, PipeWriter output)
    {
        switch (command)
        {
            case Command.Quit:
                return false;
            case Command.Put:
                // Only while draining: see Run.
                _counters.Count(Cmd.Put);
                Replies.Draining(output);
                break;
            case Command.Use use:
                _counters.Count(Cmd.Use);
                await Tube(use.Tube); // the tube exists from now on (numbered in the hub's directory)
                Interlocked.Decrement(ref _counters.Tube(_used).Using);
                _used = use.Tube;
                Interlocked.Increment(ref _counters.Tube(_used).Using);
                Replies.Using(output, _used);
                break;
            case Command.ListTubeUsed:
                _counters.Count(Cmd.ListTubeUsed);
                Replies.Using(output, _used);
                break;
            case Command.Watch watch:
                _counters.Count(Cmd.Watch);
                await Tube(watch.Tube);
                if (!_watched.Contains(watch.Tube))
                {
                    _watched.Add(watch.Tube);
                    Interlocked.Increment(ref _counters.Tube(watch.Tube).Watching);
                }
                Replies.Watching(output, _watched.Count);
                break;
            case Command.Ignore ignore:
                _counters.Count(Cmd.Ignore);
                if (_watched.Count == 1 && _watched[0] == ignore.Tube)
                    Replies.NotIgnored(output);
                else
                {
                    if (_watched.Remove(ignore.Tube))
                        Interlocked.Decrement(ref _counters.Tube(ignore.Tube).Watching);
                    Replies.Watching(output, _watched.Count);
                }
                break;
            case Command.ListTubesWatched:
                _counters.Count(Cmd.ListTubesWatched);
                Replies.TubeList(output, _watched);
                break;
            case Command.Reserve:
                _counters.Count(Cmd.Reserve);
                await Reserve(null, output);
                break;
            case Command.ReserveWithTimeout r:
                _counters.Count(Cmd.ReserveWithTimeout);
                await Reserve(r.TimeoutSeconds < 0 ? null : TimeSpan.FromSeconds(r.TimeoutSeconds), output);
                break;
            case Command.ReserveJob r:
                _counters.Count(Cmd.Reserve);
                await ReserveJob(r.Id, output);
                break;
            case Command.Delete delete:
                _counters.Count(Cmd.Delete);
                await Delete(delete.Id, output);
                break;
            case Command.Release release:
                _counters.Count(Cmd.Release);
                await OnLease(release.Id, output, lease => new JobQueue.Release(lease.JobId, lease.Token)
                {
                    Priority = release.Priority,
                    Delay = TimeSpan.FromSeconds(release.DelaySeconds),
                });
                break;
            case Command.Bury bury:
                _counters.Count(Cmd.Bury);
                await OnLease(bury.Id, output, lease => new JobQueue.Bury(lease.JobId, lease.Token, "buried by a beanstalkd client")
                {
                    Priority = bury.Priority,
                });
                break;
            case Command.Touch touch:
                _counters.Count(Cmd.Touch);
                await OnLease(touch.Id, output, lease => new JobQueue.Touch(lease.JobId, lease.Token));
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
                await OnJob(stats.Id, output, id => new JobQueue.GetJob(id), StatsJob);
                break;
            case Command.StatsTube stats:
                _counters.Count(Cmd.StatsTube);
                await StatsTube(stats.Tube, output);
                break;
            case Command.Stats:
                _counters.Count(Cmd.Stats);
                await Stats(output);
                break;
            case Command.ListTubes:
                _counters.Count(Cmd.ListTubes);
                Replies.TubeList(output, (await ExistingTubes()).Select(t => t.Tube.Name));
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

    private void StartPut(Command.Put put)
    {
        _counters.Count(Cmd.Put);
        if (!_producer)
        {
            _producer = true;
            Interlocked.Increment(ref _counters.CurrentProducers);
        }
        var push = new JobQueue.Push(_used, JobPayload.Raw("beanstalk", put.Body))
        {
            Priority = put.Priority,
            Delay = TimeSpan.FromSeconds(put.DelaySeconds),
            TimeToRun = TimeSpan.FromSeconds(Math.Max(1u, put.TtrSeconds)),
            MaxRetries = -1, // beanstalkd never buries a job on its own
        };
        if (_tubes.TryGetValue(_used, out var tube) && !_inFlight.IsGone(tube.Queue))
            _puts.Add((Send(tube.Queue, push), push));
        else
            _puts.Add((PutVia(_used, push), push));
    }

    /// <summary>A put to a tube not looked up yet (or whose queue moved): looked up, then sent.</summary>
    private async Task<JobQueue.IReply> PutVia(string name, JobQueue.Push push)
    {
        var tube = await Tube(name);
        return await Send(tube.Queue, push);
    }

    /// <summary>Writes the replies owed to pipelined puts, in order.</summary>
    private async ValueTask WritePuts(PipeWriter output)
    {
        if (_puts.Count == 0)
            return;
        foreach (var (reply, push) in _puts)
        {
            try
            {
                var answer = await WithTimeout(reply);
                var tube = await Tube(push.Queue);
                if (answer is JobQueue.Unavailable)
                    // The tube's queue stopped or is moving to another node and the push was not applied: send it again.
                    answer = await Ask(tube, push);
                if (answer is JobQueue.Pushed pushed && WireId(tube, pushed.JobId) is { } id)
                    Replies.Inserted(output, id);
                else
                    Replies.InternalError(output);
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException or InvalidOperationException)
            {
                // The tube hub could not be reached in time: the put was not sent.
                Replies.InternalError(output);
            }
        }
        _puts.Clear();
    }

    private async Task Reserve(TimeSpan? timeout, PipeWriter output)
    {
        if (!_worker)
        {
            _worker = true;
            Interlocked.Increment(ref _counters.CurrentWorkers);
        }
        var until = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var tubes = new List<Tube>(_watched.Count);
            foreach (var name in _watched)
                tubes.Add(await Tube(name));
            var now = DateTimeOffset.UtcNow;
            var soon = DeadlineSoonAt(now);
            if (soon <= now || until <= now || tubes.Count > 1)
            {
                // Take a ready job at once if there is one (from the best tube when several are watched).
                if (await ReserveNow(tubes) is { } ready)
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
            // Replies owed to pipelined commands before this one go out before it waits.
            await output.FlushAsync(_stop);
            var (got, interrupted) = await ReserveWaiting(tubes, wait);
            if (got is { } job)
            {
                Reserved(output, job.Tube, job.Reserved);
                return;
            }
            if (_closed.IsCancellationRequested)
                return;
            if (interrupted)
            {
                // A queue stopped or is moving to another node: look the tubes up again and wait on.
                await Task.Delay(50, _stop);
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

    /// <summary>When the safety margin of this connection's soonest reservation begins, if it holds any.</summary>
    private DateTimeOffset? DeadlineSoonAt(DateTimeOffset now)
    {
        DateTimeOffset? soonest = null;
        List<ulong>? expired = null;
        foreach (var (id, lease) in _leases)
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
            _leases.Remove(id);
        return soonest - SafetyMargin;
    }

    /// <summary>A ready job from the watched tubes, without waiting: the one <see cref="ReservedBefore"/> the others.</summary>
    private async Task<(Tube Tube, JobQueue.Reserved Reserved)?> ReserveNow(List<Tube> tubes)
    {
        var candidates = new List<Tube>(tubes);
        while (candidates.Count > 0)
        {
            Tube best;
            if (candidates.Count == 1)
                best = candidates[0];
            else
            {
                var peeks = candidates.Select(t => (Tube: t, Reply: Send(t.Queue, JobQueue.PeekReady.Instance))).ToList();
                (Tube Tube, JobView View)? top = null;
                foreach (var (tube, reply) in peeks)
                {
                    if (await WithTimeout(reply) is JobView view && WireId(tube, view.Job.Id) is not null
                        && (top is null || ReservedBefore(view, top.Value.View)))
                        top = (tube, view);
                }
                if (top is null)
                    return null;
                best = top.Value.Tube;
            }
            if (await WithTimeout(Send(best.Queue, new JobQueue.Reserve(TimeSpan.Zero))) is JobQueue.Reserved reserved)
                return (best, reserved);
            // Taken meanwhile, or the tube is paused: try the others.
            candidates.Remove(best);
        }
        return null;
    }

    /// <summary>
    /// beanstalkd's order across tubes: the lower priority, then the job put first. Ids don't tell the
    /// put order across tubes here (their high bits are the tube's number), so the put time does.
    /// </summary>
    private static bool ReservedBefore(JobView a, JobView b) =>
        a.Priority != b.Priority ? a.Priority < b.Priority : a.Job.CreatedAt < b.Job.CreatedAt;

    /// <summary>
    /// Waits on every watched tube at once; the first job wins and the other waits are called off.
    /// Interrupted: a queue did not wait to the end (it stopped or is moving), so the caller asks again.
    /// </summary>
    private async Task<((Tube Tube, JobQueue.Reserved Reserved)? Got, bool Interrupted)> ReserveWaiting(List<Tube> tubes, TimeSpan wait)
    {
        Interlocked.Increment(ref _counters.CurrentWaiting);
        foreach (var tube in tubes)
            Interlocked.Increment(ref _counters.Tube(tube.Name).Waiting);
        try
        {
            var waits = tubes.Select(t => (Tube: t, Reply: Send(t.Queue, new JobQueue.Reserve(wait)))).ToList();
            (Tube Tube, JobQueue.Reserved Reserved)? got = null;
            var interrupted = false;
            var open = waits.Select(w => w.Reply).ToList();
            while (got is null && !interrupted && open.Count > 0)
            {
                Task<JobQueue.IReply> done;
                try
                {
                    done = await Task.WhenAny(open).WaitAsync(wait + AskTimeout, _closed.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or TimeoutException)
                {
                    // The client closed (its agent stops, so a job handed out meanwhile goes back to Ready), or
                    // no queue answered in time.
                    return (null, !_closed.IsCancellationRequested);
                }
                open.Remove(done);
                if (done.Result is JobQueue.Reserved reserved)
                    got = (waits.First(w => w.Reply == done).Tube, reserved);
                else if (done.Result is not JobQueue.ReserveTimedOut)
                    interrupted = true;
            }
            // Call off the waits still open; a job one of them handed out meanwhile is taken if none was, else given back.
            foreach (var (tube, reply) in waits.Where(w => open.Contains(w.Reply)))
            {
                var cancel = Send(tube.Queue, JobQueue.CancelReserve.Instance);
                if (await WithTimeout(reply) is JobQueue.Reserved extra)
                {
                    if (got is null)
                        got = (tube, extra);
                    else
                        _ = Send(tube.Queue, new JobQueue.Release(extra.Job.Id, extra.Token));
                }
                await WithTimeout(cancel);
            }
            return (got, interrupted && got is null);
        }
        finally
        {
            Interlocked.Decrement(ref _counters.CurrentWaiting);
            foreach (var tube in tubes)
                Interlocked.Decrement(ref _counters.Tube(tube.Name).Waiting);
        }
    }

    private void Reserved(PipeWriter output, Tube tube, JobQueue.Reserved reserved)
    {
        if (WireId(tube, reserved.Job.Id) is not { } id)
        {
            // A job pushed through Linda's API with an id of its own has no beanstalkd id.
            _ = Send(tube.Queue, new JobQueue.Release(reserved.Job.Id, reserved.Token));
            Replies.InternalError(output);
            return;
        }
        _leases[id] = new Lease(tube, reserved.Job.Id, reserved.Token, reserved.Deadline);
        Replies.Reserved(output, id, reserved.Job.Payload.Body.Span);
    }

    private async Task ReserveJob(ulong id, PipeWriter output)
    {
        if (await TubeOf(id) is not { } tube)
        {
            Replies.NotFound(output);
            return;
        }
        switch (await Ask(tube, new JobQueue.ReserveJob(JobNumber(id))))
        {
            case JobQueue.Reserved reserved:
                Reserved(output, tube, reserved);
                break;
            case var reply:
                NotFoundOrError(output, reply);
                break;
        }
    }

    private async Task Delete(ulong id, PipeWriter output)
    {
        JobQueue.IReply? reply = null;
        Tube? tube = null;
        var held = _leases.TryGetValue(id, out var lease);
        if (held)
        {
            tube = lease!.Tube;
            reply = await AskOnLease(id, lease, new JobQueue.Complete(lease.JobId, lease.Token));
        }
        // Not held (or its lease has ended meanwhile): beanstalkd deletes a ready, delayed or buried job,
        // and answers NOT_FOUND for a job another connection has reserved.
        if (!held || reply is JobQueue.StaleLease or JobQueue.NotReserved)
        {
            if ((tube = await TubeOf(id)) is not null)
                reply = await Ask(tube, new JobQueue.Delete(JobNumber(id)) { SpareLeased = true });
            else
                reply = new JobQueue.NotFound(id.ToString());
        }
        if (reply is JobQueue.Completed or JobQueue.Deleted)
        {
            Interlocked.Increment(ref _counters.Tube(tube!.Name).CmdDelete);
            Replies.Deleted(output);
        }
        else
            NotFoundOrError(output, reply);
    }

    /// <summary>release, bury, touch: only on a job this connection holds, else <c>NOT_FOUND</c>.</summary>
    private async Task OnLease(ulong id, PipeWriter output, Func<Lease, JobQueue.ILeaseCommand> command)
    {
        if (!_leases.TryGetValue(id, out var lease))
        {
            Replies.NotFound(output);
            return;
        }
        var reply = await AskOnLease(id, lease, command(lease));
        switch (reply)
        {
            case JobQueue.Released { State: JobState.Buried } or JobQueue.Buried:
                Replies.Buried(output);
                break;
            case JobQueue.Released:
                Replies.Released(output);
                break;
            case JobQueue.Touched:
                Replies.Touched(output);
                break;
            default:
                NotFoundOrError(output, reply);
                break;
        }
    }

    /// <summary>
    /// Sends a command on a lease this connection holds and keeps its record of the lease up to date: a
    /// touch moves the deadline, an answer that the command was not applied (a failed write, no answer)
    /// keeps the lease, any other answer ends it.
    /// </summary>
    private async Task<JobQueue.IReply?> AskOnLease(ulong id, Lease lease, JobQueue.ILeaseCommand command)
    {
        var reply = await Ask(lease.Tube, command);
        if (reply is JobQueue.Touched touched)
            _leases[id] = lease with { Deadline = touched.Deadline };
        else if (reply is not (JobQueue.WriteFailed or JobQueue.Unavailable or null))
            _leases.Remove(id);
        return reply;
    }

    /// <summary>A command on the job with wire id <paramref name="id"/>, whatever tube holds it.</summary>
    private async Task OnJob(ulong id, PipeWriter output, Func<string, JobQueue.IJobCommand> command, Action<PipeWriter, ulong, JobQueue.IReply?> answer)
    {
        if (await TubeOf(id) is not { } tube)
        {
            Replies.NotFound(output);
            return;
        }
        var reply = await Ask(tube, command(JobNumber(id)));
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
        var tube = await Tube(_used);
        var reply = await Ask(tube, peek);
        if (reply is JobView view && WireId(tube, view.Job.Id) is { } id)
            Replies.Found(output, id, view.Job.Payload.Body.Span);
        else
            NotFoundOrError(output, reply is JobView ? new JobQueue.NotFound("") : reply);
    }

    private async Task Kick(uint bound, PipeWriter output)
    {
        var tube = await Tube(_used);
        if (await Ask(tube, new JobQueue.Kick((int)Math.Min(bound, int.MaxValue))) is JobQueue.Kicked kicked)
            Replies.Kicked(output, (uint)kicked.Count);
        else
            Replies.InternalError(output);
    }

    private void StatsJob(PipeWriter output, ulong id, JobQueue.IReply? reply)
    {
        if (reply is not JobView view)
        {
            NotFoundOrError(output, reply);
            return;
        }
        var now = DateTimeOffset.UtcNow;
        var timeLeft = view.State switch
        {
            JobState.Reserved when view.LeaseDeadline is { } d => d - now,
            JobState.Delayed when view.DueAt is { } d => d - now,
            _ => TimeSpan.Zero,
        };
        Replies.StatsJob(output, new JobStats
        {
            Id = id,
            Tube = view.Job.Queue,
            State = view.State switch
            {
                JobState.Ready => BeanstalkJobState.Ready,
                JobState.Delayed => BeanstalkJobState.Delayed,
                JobState.Reserved => BeanstalkJobState.Reserved,
                _ => BeanstalkJobState.Buried,
            },
            Priority = view.Priority,
            Age = (long)(now - view.Job.CreatedAt).TotalSeconds,
            Delay = (long)view.Delay.TotalSeconds,
            Ttr = (long)view.Job.TimeToRun.TotalSeconds,
            TimeLeft = Math.Max(0, (long)timeLeft.TotalSeconds),
            Reserves = (uint)view.Reserves,
            Timeouts = (uint)view.Timeouts,
            Releases = (uint)view.Releases,
            Buries = (uint)view.Buries,
            Kicks = (uint)view.Kicks,
        });
    }

    /// <summary>The tubes that exist in beanstalkd's sense (with jobs, or used, watched or waited on here), with their stats.</summary>
    private async Task<List<(Tube Tube, JobQueue.QueueStats Stats)>> ExistingTubes()
    {
        var list = await AskHub<TubeList>(BeanstalkProtocol.ListTubes.Instance);
        var stats = list.Tubes.Select(t => (Tube: t, Reply: Ask(t, JobQueue.GetStats.Instance))).ToList();
        var existing = new List<(Tube, JobQueue.QueueStats)>();
        foreach (var (tube, reply) in stats)
        {
            if (await reply is JobQueue.QueueStats s && Exists(tube.Name, s))
                existing.Add((tube, s));
        }
        return existing;
    }

    /// <summary>The tube named <paramref name="name"/> with its stats, if it exists in beanstalkd's sense.</summary>
    private async Task<(Tube Tube, JobQueue.QueueStats Stats)?> ExistingTube(string name)
    {
        var found = await AskHub<TubeFound>(new FindTube(name, 0));
        return found.Tube is { } tube && await Ask(tube, JobQueue.GetStats.Instance) is JobQueue.QueueStats stats && Exists(name, stats)
            ? (tube, stats)
            : null;
    }

    private bool Exists(string name, JobQueue.QueueStats stats) =>
        name == "default" || stats.Jobs > 0 || _counters.Tube(name).InUse;

    private async Task StatsTube(string name, PipeWriter output)
    {
        if (await ExistingTube(name) is not { } existing)
        {
            Replies.NotFound(output);
            return;
        }
        var (_, stats) = existing;
        var usage = _counters.Tube(name);
        var now = DateTimeOffset.UtcNow;
        Replies.StatsTube(output, new TubeStats
        {
            Name = name,
            CurrentJobsUrgent = (ulong)stats.Urgent,
            CurrentJobsReady = (ulong)stats.Ready,
            CurrentJobsReserved = (ulong)stats.Reserved,
            CurrentJobsDelayed = (ulong)stats.Delayed,
            CurrentJobsBuried = (ulong)stats.Buried,
            TotalJobs = (ulong)stats.TotalJobs,
            CurrentUsing = (uint)Math.Max(0, Volatile.Read(ref usage.Using)),
            CurrentWatching = (uint)Math.Max(0, Volatile.Read(ref usage.Watching)),
            CurrentWaiting = (ulong)Math.Max(0, Volatile.Read(ref usage.Waiting)),
            CmdDelete = (ulong)Interlocked.Read(ref usage.CmdDelete),
            CmdPauseTube = (ulong)Interlocked.Read(ref usage.CmdPauseTube),
            Pause = stats.PausedUntil > now ? usage.PauseSeconds : 0,
            PauseTimeLeft = stats.PausedUntil is { } until && until > now ? (long)(until - now).TotalSeconds : 0,
        });
    }

    private async Task Stats(PipeWriter output)
    {
        var tubes = await ExistingTubes();
        var server = _counters.Server(_maxJobSize) with
        {
            CurrentJobsUrgent = (ulong)tubes.Sum(t => t.Stats.Urgent),
            CurrentJobsReady = (ulong)tubes.Sum(t => t.Stats.Ready),
            CurrentJobsReserved = (ulong)tubes.Sum(t => t.Stats.Reserved),
            CurrentJobsDelayed = (ulong)tubes.Sum(t => t.Stats.Delayed),
            CurrentJobsBuried = (ulong)tubes.Sum(t => t.Stats.Buried),
            TotalJobs = (ulong)tubes.Sum(t => t.Stats.TotalJobs),
            JobTimeouts = (ulong)tubes.Sum(t => t.Stats.JobTimeouts),
            CurrentTubes = (ulong)tubes.Count,
        };
        Replies.Stats(output, server);
    }

    private async Task PauseTube(Command.PauseTube pause, PipeWriter output)
    {
        if (await ExistingTube(pause.Tube) is not { } existing)
        {
            Replies.NotFound(output);
            return;
        }
        var tube = existing.Tube;
        var usage = _counters.Tube(pause.Tube);
        Interlocked.Increment(ref usage.CmdPauseTube);
        JobQueue.ICommand command = pause.DelaySeconds == 0 ? JobQueue.Resume.Instance : new JobQueue.Pause(TimeSpan.FromSeconds(pause.DelaySeconds));
        if (await Ask(tube, command) is JobQueue.Paused or JobQueue.Resumed)
        {
            usage.PauseSeconds = pause.DelaySeconds;
            Replies.Paused(output);
        }
        else
            Replies.InternalError(output);
    }

    // ================================================================ sending

    private Task<JobQueue.IReply> Send(IActorRef queue, JobQueue.ICommand command)
    {
        // Completed by the agent, whose thread then runs this connection on to its next await: one thread
        // hop less per command than running continuations asynchronously (the agent has nothing else to do).
        var reply = new TaskCompletionSource<JobQueue.IReply>();
        _inFlight.Of(queue).Enqueue(reply);
        if (_watchedQueues.Add(queue))
            _agent.Tell(new ConnectionAgent.WatchQueue(queue));
        queue.Tell(command, _agent);
        if (_inFlight.IsGone(queue))
            reply.TrySetResult(new JobQueue.Unavailable("the tube's queue stopped; nothing changed"));
        return reply.Task;
    }

    /// <summary>
    /// Sends and waits (bounded). A queue that stopped or is moving to another node (Unavailable: nothing
    /// changed) is looked up again and asked again, with a growing pause, until <see cref="AskTimeout"/>.
    /// No answer in time, or <see cref="OutcomeUnknown"/>, is returned as it is: the command may have
    /// been applied, so sending it again could apply it twice.
    /// </summary>
    private async Task<JobQueue.IReply?> Ask(Tube tube, JobQueue.ICommand command)
    {
        var giveUpAt = DateTimeOffset.UtcNow + AskTimeout;
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            // A tube the hub could not start (it is stopping for a hand-over) is as good as Unavailable.
            var reply = tube.Queue.IsNobody() ? new JobQueue.Unavailable("the tube hub is moving") : await WithTimeout(Send(tube.Queue, command));
            if (reply is not JobQueue.Unavailable || DateTimeOffset.UtcNow >= giveUpAt)
                return reply;
            _tubes.Remove(tube.Name);
            await Task.Delay(pause, _stop);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 500));
            try
            {
                tube = await Tube(tube.Name);
            }
            catch (Exception e) when (e is AskTimeoutException or TimeoutException)
            {
                // The hub itself is moving: keep trying until the deadline.
            }
        }
    }

    private async Task<JobQueue.IReply?> WithTimeout(Task<JobQueue.IReply> reply)
    {
        if (reply.IsCompletedSuccessfully)
            return reply.Result;
        try
        {
            return await reply.WaitAsync(AskTimeout, _stop);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private async Task<Tube> Tube(string name)
    {
        if (_tubes.TryGetValue(name, out var tube) && !_inFlight.IsGone(tube.Queue))
            return tube;
        var reply = await AskHub<IBeanstalkMessage>(new GetTube(name));
        tube = reply as Tube ?? throw new InvalidOperationException(((TubeRefused)reply).Reason);
        if (!tube.Queue.IsNobody())
            _tubes[name] = tube;
        return tube;
    }

    /// <summary>
    /// Asks the tube hub in short attempts until <see cref="HubTimeout"/>: when the hub's node dies, a
    /// question sent before the survivors' proxies learn of it is lost, and the next attempt reaches the
    /// hub's new incarnation.
    /// </summary>
    private async Task<T> AskHub<T>(IBeanstalkMessage question)
    {
        var giveUpAt = DateTimeOffset.UtcNow + HubTimeout;
        while (true)
        {
            try
            {
                return await _hub.Ask<T>(question, HubAttempt, _stop);
            }
            catch (AskTimeoutException) when (DateTimeOffset.UtcNow < giveUpAt)
            {
            }
        }
    }

    private async Task<Tube?> TubeOf(ulong id)
    {
        var number = (long)(id >> TubeHub.JobBits);
        foreach (var tube in _tubes.Values)
        {
            if (tube.Number == number && !_inFlight.IsGone(tube.Queue))
                return tube;
        }
        var found = await AskHub<TubeFound>(new FindTube(null, number));
        if (found.Tube is { } t)
            _tubes[t.Name] = t;
        return found.Tube;
    }

    private static void NotFoundOrError(PipeWriter output, JobQueue.IReply? reply)
    {
        if (reply is JobQueue.NotFound or JobQueue.NoJob or JobQueue.Leased or JobQueue.StaleLease or JobQueue.NotReserved or JobQueue.NotKickable)
            Replies.NotFound(output);
        else
            Replies.InternalError(output);
    }

    private static ulong? WireId(Tube tube, string jobId) =>
        ulong.TryParse(jobId, out var n) && n < 1UL << TubeHub.JobBits ? (ulong)tube.Number << TubeHub.JobBits | n : null;

    private static string JobNumber(ulong id) => (id & ((1UL << TubeHub.JobBits) - 1)).ToString();
}
