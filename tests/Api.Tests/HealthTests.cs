using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Health for load balancers, never behind identity: <c>/healthz</c> while the process serves;
/// <c>/readyz</c> 200 when a grain answers, grain storage writes and the image data store writes
/// and deletes; 503 with a JSON body naming the failed check when one of them cannot.
/// </summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Liveness_and_readiness_answer_without_identity_and_name_every_check()
    {
        await using var server = new GlanceServer(_ => new Dictionary<string, string?> { ["Glance:Identity:UseDefaultIdentity"] = "false" });
        var api = server.Client;

        var alive = Expect.Status(await api.SendAsync(HttpMethod.Get, "/healthz", null), 200);
        Assert.Equal("alive", Expect.Str(alive.Json, "status"));
        Expect.Status(await api.SendAsync(HttpMethod.Head, "/healthz", null), 200);

        var ready = Expect.Status(await api.SendAsync(HttpMethod.Get, "/readyz", null), 200);
        Assert.Equal("ready", Expect.Str(ready.Json, "status"));
        var checks = ready.Json.GetProperty("checks");
        Assert.Equal(["cluster", "grain-storage", "image-data"], checks.EnumerateObject().Select(c => c.Name));
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("ok", Expect.Str(c.Value, "status")));
        // The probe leaves no bytes behind.
        Assert.Empty(Directory.GetFiles(Path.Combine(server.DataDirectory, "images"), "readyz-*"));
    }

    [Fact]
    public async Task Readiness_is_503_naming_the_image_data_store_when_it_cannot_write()
    {
        string? images = null;
        await using var server = new GlanceServer(root => new Dictionary<string, string?>
        {
            ["Glance:ImageData:Directory"] = images = Path.Combine(root, "bytes"),
        });
        Expect.Status(await server.Client.SendAsync(HttpMethod.Get, "/readyz", null), 200);

        // The store's directory becomes a file: every write fails (even as root).
        Directory.Delete(images!, recursive: true);
        await File.WriteAllTextAsync(images!, "not a directory");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // past the second for which a run is reused

        var notReady = Expect.Error(await server.Client.SendAsync(HttpMethod.Get, "/readyz", null), 503);
        Assert.Equal("not ready", Expect.Str(notReady.Json, "status"));
        Assert.Contains("image-data", Expect.Str(notReady.Json, "message"));
        var checks = notReady.Json.GetProperty("checks");
        Assert.Equal("failed", Expect.Str(checks.GetProperty("image-data"), "status"));
        Assert.Equal("ok", Expect.Str(checks.GetProperty("cluster"), "status"));
        Assert.Equal("ok", Expect.Str(checks.GetProperty("grain-storage"), "status"));
        Expect.Status(await server.Client.SendAsync(HttpMethod.Get, "/healthz", null), 200);
    }
}
