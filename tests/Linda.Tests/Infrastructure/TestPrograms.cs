using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Linda.Tests.Infrastructure;

/// <summary>What specs that run other programs share: free ports and built programs started with their output redirected.</summary>
public static class TestPrograms
{
    // Where the repository keeps its projects, each in a folder of its name.
    private static readonly string[] ProjectFolders = ["src", "samples", "tests"];

    /// <summary>A loopback port the OS says is free now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The repository's root (the folder holding Linda.sln), found from the test binaries upwards.</summary>
    public static string RepositoryRoot() =>
        FindRepositoryRoot() ?? throw new InvalidOperationException("can't find Linda.sln above " + AppContext.BaseDirectory);

    /// <summary>
    /// How to run a built program (a sample, a test host, the server), output redirected: from its own
    /// build folder (<see cref="ProgramPath"/>), so that it loads the assemblies it was built with.
    /// </summary>
    public static ProcessStartInfo Dotnet(string dll, params string[] args) =>
        new("dotnet", [ProgramPath(dll), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

    /// <summary>
    /// Where program <paramref name="dll"/> was built: <c>{project}/bin/{configuration}/{framework}/{dll}</c>,
    /// its project the folder of its name under src/, samples/ or tests/, and the configuration and
    /// framework those of the running tests (their folder is <c>.../bin/Debug/net10.0/</c>). A program
    /// run from another project's folder would load that project's assemblies, not its own: a project that
    /// brings ASP.NET Core's shared framework (Linda.Server) leaves out of its folder the packages the
    /// framework holds, which the other programs need. When the tests were built elsewhere (<c>-o</c>: every
    /// program in one folder) or the file is not there, the program next to the tests.
    /// </summary>
    public static string ProgramPath(string dll)
    {
        var here = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        if (here.Parent is { Parent.Name: "bin" } configuration && FindRepositoryRoot() is { } root)
        {
            var project = Path.GetFileNameWithoutExtension(dll);
            foreach (var folder in ProjectFolders)
            {
                var built = Path.Combine(root, folder, project, "bin", configuration.Name, here.Name, dll);
                if (File.Exists(built))
                    return built;
            }
        }
        return Path.Combine(AppContext.BaseDirectory, dll);
    }

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linda.sln")))
                return dir.FullName;
        }
        return null;
    }
}
