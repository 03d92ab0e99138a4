using System.Diagnostics;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// The documented direct client (samples/DirectClient): another Orleans service that joins the
/// cluster as a client and calls the public grain interfaces; the grains' rules hold for it.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DirectClientTests(ClusterFixture fixture)
{
    [Fact]
    public async Task The_sample_client_creates_lists_reads_and_is_refused_another_projects_private_image()
    {
        var cluster = fixture.Cluster;
        var dll = Path.Combine(cluster.Repository, "samples", "DirectClient", "bin", LocalCluster.Configuration, "net10.0", "Glance.DirectClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { dll, "--ConnectionString", cluster.ConnectionString, "--ClusterId", cluster.ClusterId })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("ok - a member of another project gets not found", output);
        Assert.Contains("ok - listed", output);
        Assert.DoesNotContain("not ok", output);
    }
}
