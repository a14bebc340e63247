using Linda.Telemetry;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.DependencyInjection;
using static Linda.JobQueue;

namespace Linda.Workers;

/// <summary>
/// One worker: it pulls a job from its queue (a long-polling <see cref="Reserve"/>), runs the handler
/// registered for the job's class asynchronously (the mailbox stays free), and answers
/// <see cref="Complete"/>, <see cref="Release"/> (retry with backoff, or snooze) or <see cref="Bury"/>
/// (retries used up, or no handler for the class) together with its next reserve. The queue watches
/// the worker: if it dies, the job goes back to Ready at once. A worker of a partitioned queue pulls
/// from every partition (<see cref="ReserveTargets"/>) and answers each job to the partition it came from.
/// </summary>
public sealed class JobWorker : ReceiveActor, IWithTimers
{
    private readonly ReserveTargets _targets;
    private ReserveTargets.Target _pullTarget;
    private readonly TimeProvider _time;
    private readonly JobHandlers _handlers;
    private readonly WorkerSettings _settings;
    private readonly IServiceProvider _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _node;
    private Running? _running;
    private bool _pulling;
    private bool _draining;
    private IActorRef? _drainReplyTo;

    /// <summary>Use <see cref="Props(IReadOnlyList{IActorRef}, JobHandlers, WorkerSettings, IServiceProvider, TimeProvider?, PartitionSpread?)"/>.</summary>
    public JobWorker(IReadOnlyList<IActorRef> queues, JobHandlers handlers, WorkerSettings settings, IServiceProvider services, TimeProvider? time = null, PartitionSpread? spread = null)
    {
        _targets = new ReserveTargets(queues, spread?.Take() ?? 0);
        _pullTarget = _targets.All[0];
        _time = time ?? TimeProvider.System;
        _handlers = handlers;
        _settings = settings;
        _services = services;
        _node = Context.System.Name + "@" + (Context.System as ExtendedActorSystem)?.Provider.DefaultAddress.HostPort();

        Receive<Reserved>(OnReserved);
        Receive<ReserveTimedOut>(_ =>
        {
            WatchQueue(_pullTarget, Sender);
            _targets.Missed(_pullTarget);
            PullAgain();
        });
        Receive<PullLost>(_ =>
        {
            // No answer to a reserve (the queue moved, or a proxy dropped it): ask again.
            _log.Debug("no answer to a reserve within {0}; asking again", _settings.ReserveWait + _settings.AskTimeout);
            PullAgain();
        });
        Receive<Outcome>(OnOutcome);
        Receive<CancelJob>(m =>
        {
            // The queue says the job was cancelled: its handler's token fires; what the handler does then
            // (it throws, or returns) is given back as usual, and the queue ends the job as cancelled.
            if (_running is { } running && running.Reserved.Job.Id == m.JobId && running.Reserved.Token == m.Token)
            {
                _log.Info("job {0}: cancelled; cancelling its run", m.JobId);
                running.Cancel.Cancel();
            }
        });
        Receive<Status.Failure>(f =>
        {
            if (_running is { } running)
                OnOutcome(new Outcome(running.Reserved, null, $"{f.Cause.GetType().Name}: {f.Cause.Message}", Bury: false));
        });
        Receive<Drain>(_ => OnDrain());
        Receive<GraceOver>(_ => OnGraceOver());
        Receive<Unavailable>(_ =>
        {
            // The queue is handing over to another node: ask again shortly, through the address it was given.
            if (_pulling)
                Timers.StartSingleTimer(PullTimer, PullLost.Instance, _settings.AskAgain.FirstPause);
        });
        Receive<Terminated>(t =>
        {
            if (_targets.ByActor(t.ActorRef) is not { } gone)
                return;
            // The queue's node died, it handed over or it restarts after a failed write: a waiting reserve
            // went with it. Ask again through the address it was given, which finds the new one, a moment
            // later: that address (a shard region, a singleton proxy) learns of a dead node from the same
            // notice, and a reserve that reached it first would still go to the dead node, unanswered.
            gone.Forget();
            if (_pulling && gone == _pullTarget)
                Timers.StartSingleTimer(PullTimer, PullLost.Instance, AfterQueueTerminated);
        });
        Receive<VerdictSettled>(_ =>
        {
            _verdictsInFlight--;
            if (_verdictsInFlight == 0 && _pullWhenSettled)
            {
                _pullWhenSettled = false;
                Pull();
            }
        });
        Receive<IFailure>(f => _log.Warning("queue refused a reserve: {0}", f.Message));
        Receive<IReply>(_ => { });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How long after its queue actor terminated a pulling worker asks again (see the <c>Terminated</c> handler).</summary>
    internal static readonly TimeSpan AfterQueueTerminated = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Props for a worker of <paramref name="queue"/> (a queue's supervisor, or its cluster singleton's
    /// proxy); <paramref name="time"/> is the clock of its jobs' lease deadlines (<b>Default:</b> the system's).
    /// </summary>
    public static Props Props(IActorRef queue, JobHandlers handlers, WorkerSettings settings, IServiceProvider services, TimeProvider? time = null) =>
        Props([queue], handlers, settings, services, time);

    /// <summary>
    /// Props for a worker of a partitioned queue: <paramref name="partitions"/>[i] is this node's address
    /// of partition i (one address: a queue of one actor); the workers of one pool share one
    /// <paramref name="spread"/>, so they start on different partitions.
    /// </summary>
    public static Props Props(IReadOnlyList<IActorRef> partitions, JobHandlers handlers, WorkerSettings settings, IServiceProvider services,
        TimeProvider? time = null, PartitionSpread? spread = null)
    {
        var addresses = partitions.ToArray();
        return Akka.Actor.Props.Create(() => new JobWorker(addresses, handlers, settings, services, time, spread));
    }

    /// <summary>Stop pulling, let the running job finish within the grace period, release it after; answered with <see cref="Drained"/>.</summary>
    public sealed class Drain
    {
        /// <summary>The one instance.</summary>
        public static readonly Drain Instance = new();
    }

    /// <summary>The worker has no job and pulls no more.</summary>
    public sealed class Drained
    {
        /// <summary>The one instance.</summary>
        public static readonly Drained Instance = new();
    }

    /// <inheritdoc />
    protected override void PreStart() => Pull();

    /// <inheritdoc />
    protected override void PostStop()
    {
        _running?.Cancel.Cancel();
        _running?.Cancel.Dispose();
    }

    /// <summary>
    /// Asks for the next job. The reserve says the worker holds none, so a lease the queue still has
    /// for it (its Reserved reply was lost) goes back to Ready. That is only true once the verdict on
    /// the last job has reached the queue: right after sending it (the queue gets the two in order), or
    /// once it was answered; a pull at any other time waits for outstanding verdicts.
    /// </summary>
    private void Pull(bool rightAfterVerdict = false)
    {
        if (_pulling || _draining || _running is not null)
            return;
        if (!rightAfterVerdict && _verdictsInFlight > 0)
        {
            _pullWhenSettled = true;
            return;
        }
        _pulling = true;
        var (target, wait) = _targets.Next(_settings);
        _pullTarget = target;
        target.Route.Tell(new Reserve(wait) { HoldsNone = true, Pull = ++_pull });
        Timers.StartSingleTimer(PullTimer, PullLost.Instance, wait + _settings.AskTimeout);
    }

    private const string PullTimer = "pull";

    /// <summary>The outstanding reserve is answered or given up on: ask again.</summary>
    private void PullAgain()
    {
        _pulling = false;
        Timers.Cancel(PullTimer);
        Pull();
    }

    /// <summary>
    /// The queue actor that answered (behind its supervisor or proxy): the worker's reserves and
    /// verdicts for that queue (or partition) go straight to it from now on, one hop less each, and it is
    /// watched, so the worker learns at once when it goes away and goes back to the address it was given.
    /// </summary>
    private void WatchQueue(ReserveTargets.Target target, IActorRef queueActor)
    {
        var before = target.Actor;
        if (!target.Learn(queueActor))
            return;
        if (before is not null)
            Context.Unwatch(before);
        Context.Watch(queueActor);
    }

    private long _pull;

    private void OnReserved(Reserved reserved)
    {
        var from = _targets.ByQueue(reserved.Job.Queue);
        WatchQueue(from, Sender);
        if (reserved.Pull != _pull)
        {
            // The answer to a reserve this worker had given up on (it asked again since): not its job.
            SendVerdict(new Release(reserved.Job.Id, reserved.Token), from);
            return;
        }
        _pulling = false;
        Timers.Cancel(PullTimer);
        if (_draining || _running is not null)
        {
            // Too late: the node is shutting down. Someone else takes it.
            SendVerdict(new Release(reserved.Job.Id, reserved.Token), from);
            return;
        }
        _targets.Got(from);
        var cancel = new CancellationTokenSource();
        _running = new Running(reserved, cancel, from);
        var self = Self;
        RunAsync(reserved, from, self, cancel.Token).PipeTo(self);
    }

    private async Task<Outcome> RunAsync(Reserved reserved, ReserveTargets.Target from, IActorRef self, CancellationToken token)
    {
        var cls = reserved.Job.Payload.Class;
        if (!_handlers.TryGet(cls, out var handler))
            return new Outcome(reserved, null, $"no handler for class '{cls}' on node {_node}", Bury: true);
        await using var scope = _services.CreateAsyncScope();
        // A run timeout: its own source, so a run it ends is told apart from a cancel or a shutdown.
        using var timeout = reserved.Job.Timeout is { } limit ? new CancellationTokenSource(limit, _time) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        var context = new JobContext(reserved, () => from.Route, self, scope.ServiceProvider, _settings, _time, linked?.Token ?? token);
        context.Start();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var span = LindaTelemetry.StartProcess(reserved);
        try
        {
            await handler(context);
            LindaTelemetry.Processed(reserved.Job.Queue, started, null);
            return new Outcome(reserved, context.SnoozedFor, null, Bury: false);
        }
        catch (Exception e)
        {
            LindaTelemetry.Processed(reserved.Job.Queue, started, e.GetType().FullName);
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.Message).SetTag(LindaTelemetry.Attributes.ErrorType, e.GetType().FullName);
            if (timeout?.IsCancellationRequested == true && !token.IsCancellationRequested)
                return new Outcome(reserved, null, $"TimeoutException: the run took longer than its timeout of {reserved.Job.Timeout!.Value.TotalSeconds:0.###} s ({e.GetType().Name}: {e.Message})", Bury: false);
            return e is BuryJobException
                ? new Outcome(reserved, null, e.Message, Bury: true)
                : new Outcome(reserved, null, $"{e.GetType().Name}: {e.Message}", Bury: false);
        }
        finally
        {
            context.End();
        }
    }

    private void OnOutcome(Outcome outcome)
    {
        var r = outcome.Reserved;
        var id = r.Job.Id;
        if (_running?.Reserved != r)
            return; // released at shutdown already
        var from = _running.From;
        _running.Cancel.Dispose();
        _running = null;
        ICommand verdict;
        if (outcome.Error is null)
        {
            verdict = outcome.Snooze is { } delay ? new Release(id, r.Token) { Delay = delay } : new Complete(id, r.Token);
        }
        else if (outcome.Bury)
        {
            _log.Warning("job {0}: {1}; burying it", id, outcome.Error);
            verdict = new Bury(id, r.Token, Truncate(outcome.Error, _settings.MaxErrorLength));
        }
        else
        {
            switch (RetryRules.AfterFailedAttempt(r.Job, r.Attempt))
            {
                case AfterFailure.Retry:
                    var backoff = _settings.Backoff(r.Attempt);
                    _log.Info("job {0} failed on attempt {1}, retry in {2:0.###} s: {3}", id, r.Attempt, backoff.TotalSeconds, outcome.Error);
                    verdict = new Release(id, r.Token) { Delay = backoff, Error = Truncate(outcome.Error, _settings.MaxErrorLength) };
                    break;
                case AfterFailure.NextRun:
                    // A periodic job keeps its schedule: this run is over, the next one comes at its time.
                    _log.Warning("job {0} failed on attempt {1}, its last of this run: {2}", id, r.Attempt, outcome.Error);
                    verdict = new Complete(id, r.Token);
                    break;
                default:
                    _log.Warning("job {0} failed on attempt {1}, its last: {2}", id, r.Attempt, outcome.Error);
                    verdict = new Bury(id, r.Token, Truncate($"failed {r.Attempt} times; last error: {outcome.Error}", _settings.MaxErrorLength));
                    break;
            }
        }
        SendVerdict(verdict, from);
        if (_draining)
            FinishDrain();
        else
            Pull(rightAfterVerdict: true);
    }

    private void OnDrain()
    {
        _draining = true;
        _drainReplyTo = Sender;
        if (_running is null)
            FinishDrain();
        else
            Timers.StartSingleTimer("grace", GraceOver.Instance, _settings.ShutdownGrace);
    }

    private void OnGraceOver()
    {
        if (_running is not { } running)
            return;
        _log.Warning("job {0} still running after the shutdown grace period: releasing it for another node", running.Reserved.Job.Id);
        running.Cancel.Cancel();
        SendVerdict(new Release(running.Reserved.Job.Id, running.Reserved.Token) { Error = "released at shutdown" }, running.From);
        _running = null;
        FinishDrain();
    }

    private void FinishDrain()
    {
        _drainReplyTo?.Tell(Drained.Instance);
        _drainReplyTo = null;
    }

    /// <summary>
    /// Sends a verdict and makes sure it arrives (<see cref="AskAgain"/>): sent again while the queue is
    /// moving (<see cref="Unavailable"/>) or when no answer comes (a proxy dropped it while the queue
    /// moved); a verdict that arrives twice is refused the second time, changing nothing.
    /// </summary>
    private void SendVerdict(ICommand verdict, ReserveTargets.Target to)
    {
        _verdictsInFlight++;
        var self = Self;
        _ = SendVerdictAsync(verdict, to).ContinueWith(_ => self.Tell(VerdictSettled.Instance), TaskScheduler.Default);
    }

    private int _verdictsInFlight;
    private bool _pullWhenSettled;

    private sealed class VerdictSettled
    {
        public static readonly VerdictSettled Instance = new();
    }

    // Runs synchronously up to the first await, so the verdict is sent before the worker's next reserve.
    private async Task SendVerdictAsync(ICommand verdict, ReserveTargets.Target to)
    {
        var log = _log;
        var timeout = _settings.AskTimeout;
        IReply? reply;
        try
        {
            reply = await _settings.AskAgain.AskAsync(async _ =>
            {
                try
                {
                    return await to.Route.Ask<IReply>(verdict, timeout);
                }
                catch (AskTimeoutException)
                {
                    return null;
                }
            }, _time, retryWithoutAnswer: true);
        }
        catch (Exception e)
        {
            log.Warning("no answer to {0}: {1}", verdict, e.Message);
            return;
        }
        if (reply is null)
            log.Warning("no answer to {0} within {1}", verdict, _settings.AskAgain.GiveUpAfter);
        else if (reply is IFailure f)
            log.Warning("queue refused {0}: {1}", verdict, f.Message);
    }

    private static string Truncate(string error, int max) => error.Length <= max ? error : error[..max];

    private sealed record Running(Reserved Reserved, CancellationTokenSource Cancel, ReserveTargets.Target From);

    private sealed record Outcome(Reserved Reserved, TimeSpan? Snooze, string? Error, bool Bury);

    private sealed class PullLost
    {
        public static readonly PullLost Instance = new();
    }

    private sealed class GraceOver
    {
        public static readonly GraceOver Instance = new();
    }
}
