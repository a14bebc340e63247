using System.IO.Pipelines;
using Linda.Beanstalk.Protocol;
using static Linda.Beanstalk.BeanstalkProtocol;

namespace Linda.Beanstalk;

/// <summary>
/// beanstalkd's stats from Linda's: <c>stats-job</c> from a job's <see cref="JobView"/>, <c>stats-tube</c>
/// and <c>stats</c> from the queues' <see cref="JobQueue.QueueStats"/> (job counts, cluster-wide) and this
/// node's <see cref="FrontEndCounters"/> (connections, commands), and which tubes exist in beanstalkd's
/// sense (with jobs, or used, watched or waited on here).
/// </summary>
internal sealed class StatsReplies(QueueLink link, TubeCache tubes, FrontEndCounters counters, BeanstalkServerOptions options)
{
    public void StatsJob(PipeWriter output, ulong id, JobView view)
    {
        var now = options.Time.GetUtcNow();
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

    /// <summary>The tubes that exist in beanstalkd's sense, with their stats.</summary>
    public async Task<List<(Tube Tube, JobQueue.QueueStats Stats)>> ExistingTubes()
    {
        var all = await tubes.All();
        var stats = all.Select(t => (Tube: t, Reply: Stats(t))).ToList();
        var existing = new List<(Tube, JobQueue.QueueStats)>();
        foreach (var (tube, reply) in stats)
        {
            if (await reply is JobQueue.QueueStats s && Exists(tube.Name, s))
                existing.Add((tube, s));
        }
        return existing;
    }

    /// <summary>The tube named <paramref name="name"/> with its stats, if it exists in beanstalkd's sense.</summary>
    public async Task<(Tube Tube, JobQueue.QueueStats Stats)?> ExistingTube(string name) =>
        await tubes.Find(name) is { } tube && await Stats(tube) is JobQueue.QueueStats stats && Exists(name, stats)
            ? (tube, stats)
            : null;

    private async Task<JobQueue.IReply?> Stats(Tube tube) => await link.Ask(tube, JobQueue.GetStats.Instance);

    private bool Exists(string name, JobQueue.QueueStats stats) =>
        name == "default" || stats.Jobs > 0 || counters.Tube(name).InUse;

    public async Task StatsTube(string name, PipeWriter output)
    {
        if (await ExistingTube(name) is not { } existing)
        {
            Replies.NotFound(output);
            return;
        }
        var (_, stats) = existing;
        var usage = counters.Tube(name);
        var now = options.Time.GetUtcNow();
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

    public async Task Stats(PipeWriter output)
    {
        var existing = await ExistingTubes();
        var server = counters.Server(options.MaxJobSize) with
        {
            CurrentJobsUrgent = (ulong)existing.Sum(t => t.Stats.Urgent),
            CurrentJobsReady = (ulong)existing.Sum(t => t.Stats.Ready),
            CurrentJobsReserved = (ulong)existing.Sum(t => t.Stats.Reserved),
            CurrentJobsDelayed = (ulong)existing.Sum(t => t.Stats.Delayed),
            CurrentJobsBuried = (ulong)existing.Sum(t => t.Stats.Buried),
            TotalJobs = (ulong)existing.Sum(t => t.Stats.TotalJobs),
            JobTimeouts = (ulong)existing.Sum(t => t.Stats.JobTimeouts),
            CurrentTubes = (ulong)existing.Count,
        };
        Replies.Stats(output, server);
    }

    public async Task ListTubes(PipeWriter output) => Replies.TubeList(output, (await ExistingTubes()).Select(t => t.Tube.Name));
}
