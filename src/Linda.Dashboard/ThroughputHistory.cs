using System.Collections.Concurrent;
using Linda.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Linda.JobQueue;

namespace Linda.Dashboard;

/// <summary>
/// What the overview's chart shows: every <see cref="Interval"/> each queue's stats are asked for, and
/// the jobs completed, failed and pushed since the sample before are kept as rates per second, for the
/// last <see cref="Length"/> samples (ten minutes). One stats question per queue per interval is all it
/// costs the queues. A partitioned queue is sampled as the queue (its stats are its partitions' added
/// up), never partition by partition, so the chart counts each job once. A queue that started again on another node counts from zero: a counter that went
/// down counts from there.
/// </summary>
internal sealed class ThroughputHistory(IServiceProvider services, TimeProvider time) : BackgroundService
{
    /// <summary>How often each queue is sampled.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>How many samples are kept per queue.</summary>
    public const int Length = 300;

    // A sample's question gives up after this long (the queue may be moving to another node).
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

    /// <summary>One point of a queue's chart: per second over the interval that ends at <paramref name="At"/>.</summary>
    public sealed record Point(DateTimeOffset At, double Completed, double Failures, double Pushed);

    /// <summary>Each queue's points, oldest first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Point>> Points() =>
        _series.OrderBy(s => s.Key, StringComparer.Ordinal).ToDictionary(s => s.Key, s => s.Value.Points());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The ActorSystem is not up yet, or is going down: the next tick tries again.
            }
        }
    }

    private async Task SampleAsync(CancellationToken stoppingToken)
    {
        var client = services.GetRequiredService<ILindaClient>();
        await Task.WhenAll(client.Queues.Select(async queue =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(AskTimeout);
            try
            {
                if (await client.GetStatsAsync(queue, timeout.Token) is QueueStats stats)
                    _series.GetOrAdd(queue, _ => new Series()).Add(time.GetUtcNow(), stats);
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // No answer in time: no point for this interval.
            }
        }));
    }

    /// <summary>One queue's samples: the counters last seen and the points made from them.</summary>
    private sealed class Series
    {
        private readonly Queue<Point> _points = new();
        private (DateTimeOffset At, long Completed, long Failures, long Pushed)? _last;

        public void Add(DateTimeOffset at, QueueStats stats)
        {
            var now = (At: at, Completed: stats.Commands.GetValueOrDefault("complete"), stats.Failures, Pushed: stats.Commands.GetValueOrDefault("push"));
            lock (_points)
            {
                if (_last is { } last && at > last.At)
                {
                    var seconds = (at - last.At).TotalSeconds;
                    _points.Enqueue(new Point(at, Rate(last.Completed, now.Completed, seconds), Rate(last.Failures, now.Failures, seconds),
                        Rate(last.Pushed, now.Pushed, seconds)));
                    while (_points.Count > Length)
                        _points.Dequeue();
                }
                _last = now;
            }
        }

        public IReadOnlyList<Point> Points()
        {
            lock (_points)
                return _points.ToArray();
        }

        // A counter that went down started again from zero (the queue moved): what it shows now is new.
        private static double Rate(long before, long now, double seconds) => (now >= before ? now - before : now) / seconds;
    }
}
