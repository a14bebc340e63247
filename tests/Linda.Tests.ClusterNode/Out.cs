namespace Linda.Tests.ClusterNode;

/// <summary>The node's stdout: whole lines, flushed at once, never interleaved.</summary>
internal static class Out
{
    private static readonly Lock Gate = new();

    public static void Line(string line)
    {
        lock (Gate)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
