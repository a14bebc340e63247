using System.Globalization;
using System.Runtime;

namespace Linda.Tests.ClusterNode;

/// <summary>What the "count" handler does: it counts its runs, and of them the attempts after the first.</summary>
internal sealed class RunCounter
{
    private long _count;
    private long _redelivered;

    public long Count => Interlocked.Read(ref _count);

    public long Redelivered => Interlocked.Read(ref _redelivered);

    public void Ran(int attempt)
    {
        if (attempt > 1)
            Interlocked.Increment(ref _redelivered);
        Interlocked.Increment(ref _count);
    }

    /// <summary>What the runtime spent so far, for a benchmark to tell a node's work from its JIT and GC.</summary>
    public static string Runtime() => string.Create(CultureInfo.InvariantCulture,
        $"jit_ms={JitInfo.GetCompilationTime().TotalMilliseconds:F0} allocated_bytes={GC.GetTotalAllocatedBytes()} " +
        $"gc_pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F0} gcs={GC.CollectionCount(0)}");
}
