using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Linda.Tests.Infrastructure;

/// <summary>What specs that run other programs share: free ports and built programs started with their output redirected.</summary>
public static class TestPrograms
{
    /// <summary>A loopback port the OS says is free now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository's root (the folder holding Linda.sln), found from the test binaries upwards.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linda.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("can't find Linda.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>How to run a program built next to the tests (a sample or a test host), output redirected.</summary>
    public static ProcessStartInfo Dotnet(string dll, params string[] args) =>
        new("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
}
