using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Glance.Api.Tests.Support;
using Xunit.Abstractions;

namespace Glance.Api.Tests;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM stop the real service process within 10 s whatever its clients
/// are doing, and every write it acknowledged is there after a restart. The load is 32
/// keep-alive clients creating, showing, listing and patching images, plus two slow clients
/// caught mid-request (headers half sent; an upload whose body stalls), as any real load has.
/// </summary>
public sealed class ShutdownTests(ITestOutputHelper output)
{
    private const int Clients = 32;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly Persona Owner = Persona.P1;

    [Theory]
    [InlineData("INT", true)]
    [InlineData("TERM", true)]
    [InlineData("INT", false)]
    public async Task A_signal_stops_the_service_within_10_s_and_acknowledged_writes_stay(string signal, bool duringLoad)
    {
        using var directory = new TempDirectory();
        var data = Path.Combine(directory.Path, "data");
        var suite = GlanceClient.Unique("shutdown");
        var created = new ConcurrentDictionary<string, string>(); // acknowledged creates: id -> name given
        var patched = new ConcurrentBag<PatchedImage>();
        TimeSpan exitedAfter;

        await using (var service = await ServiceProcess.StartAsync(data))
        {
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, Clients).Select(i => ClientLoopAsync(service.Http, suite, i, created, patched, stop.Token)).ToList();
            // Load for 3 s, and until every client has been acknowledged (a busy machine is slower).
            var loading = Stopwatch.StartNew();
            while ((loading.Elapsed < TimeSpan.FromSeconds(3) || created.Count <= Clients) && loading.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
            using var halfHeaders = await HalfSentHeadersAsync(service.BaseAddress);
            using var stalledUpload = await StalledUploadAsync(service, suite);
            if (!duringLoad)
            {
                // Just after the load: the keep-alive connections stay open, idle.
                stop.Cancel();
                await Task.WhenAll(workers);
            }
            Assert.True(created.Count > Clients, $"the load created only {created.Count} images:\n{service.RecentLog}");

            var clock = Stopwatch.StartNew();
            await service.SignalAsync(signal);
            var exited = await service.WaitForExitAsync(Bound);
            exitedAfter = clock.Elapsed;
            stop.Cancel();
            await Task.WhenAll(workers);
            output.WriteLine($"SIG{signal} {(duringLoad ? "during" : "after")} the load: {(exited ? $"exited ({service.ExitCode}) after {exitedAfter.TotalSeconds:F1} s" : "still running")}; " +
                $"{created.Count} creates acknowledged");
            Assert.True(exited, $"SIG{signal} {(duringLoad ? "during" : "after")} load: still running {Bound.TotalSeconds} s later\n--- service log ---\n{service.RecentLog}");
            Assert.True(service.ExitCode == 0, $"exit code {service.ExitCode}\n{service.RecentLog}");
        }

        await using (var restarted = await ServiceProcess.StartAsync(data))
        {
            var api = restarted.Client;
            var problems = new List<string>();
            // A patched image's name is checked against its patches below.
            var ownIds = patched.Select(p => p.Id).ToHashSet();
            foreach (var (id, name) in created.Where(c => !ownIds.Contains(c.Key)))
            {
                var shown = await api.GetAsync($"/v2/images/{id}", Owner);
                if (shown.Code != 200 || Expect.Str(shown.Json, "name") != name)
                {
                    problems.Add($"acknowledged create {id} ({name}): {shown}");
                }
            }
            foreach (var image in patched)
            {
                var name = Expect.Str(await api.ShowImageAsync(image.Id, Owner), "name");
                var stored = int.Parse(name.TrimStart('p'), System.Globalization.CultureInfo.InvariantCulture);
                if (stored < image.Acknowledged || stored > image.Sent)
                {
                    problems.Add($"image {image.Id}: name {name}, but p{image.Acknowledged} was acknowledged and p{image.Sent} the last sent");
                }
            }
            Assert.True(problems.Count == 0, string.Join('\n', problems));
        }
    }

    /// <summary>One keep-alive client: creates an image, then patches it, creates more, shows and lists, until stopped.</summary>
    private static async Task ClientLoopAsync(HttpClient http, string suite, int client, ConcurrentDictionary<string, string> created,
        ConcurrentBag<PatchedImage> patched, CancellationToken stop)
    {
        var random = new Random(client);
        PatchedImage? own = null;
        try
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var name = $"c{client}-{n}";
                using (var create = Request(HttpMethod.Post, "/v2/images", GlanceClient.Json(new { suite, name }), "application/json"))
                using (var response = await http.SendAsync(create, stop))
                {
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        var id = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop)).RootElement.GetProperty("id").GetString()!;
                        created[id] = name;
                        if (own is null)
                        {
                            own = new PatchedImage(id);
                            patched.Add(own);
                        }
                    }
                }
                if (own is not null)
                {
                    var value = own.Sent + 1;
                    own.Sent = value;
                    using var patch = Request(HttpMethod.Patch, $"/v2/images/{own.Id}",
                        $$"""[{"op":"replace","path":"/name","value":"p{{value}}"}]""", GlanceClient.PatchV21);
                    using var response = await http.SendAsync(patch, stop);
                    if (response.IsSuccessStatusCode)
                    {
                        own.Acknowledged = value;
                    }
                }
                var ids = created.Keys.Take(64).ToList();
                if (ids.Count > 0)
                {
                    using var show = Request(HttpMethod.Get, $"/v2/images/{ids[random.Next(ids.Count)]}");
                    using var response = await http.SendAsync(show, stop);
                    await response.Content.ReadAsByteArrayAsync(stop);
                }
                using (var list = Request(HttpMethod.Get, "/v2/images?limit=20"))
                using (var response = await http.SendAsync(list, stop))
                {
                    await response.Content.ReadAsByteArrayAsync(stop);
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The service went away: what was in flight is not acknowledged.
        }
    }

    /// <summary>A client that sent half of a request's headers and then nothing more.</summary>
    private static async Task<Socket> HalfSentHeadersAsync(Uri service)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, service.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /v2/images HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        return socket;
    }

    /// <summary>An upload of 4 MiB that stops sending after 64 KiB (the image stays in saving until it ends).</summary>
    private static async Task<Socket> StalledUploadAsync(ServiceProcess service, string suite)
    {
        var id = Expect.Str(await service.Client.CreateImageAsync(Owner, new { suite, disk_format = "raw", container_format = "bare" }), "id");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, service.BaseAddress.Port);
        var head = $"PUT /v2/images/{id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n" +
            $"Content-Length: {4 << 20}\r\nX-Project-Id: {Owner.Project}\r\nX-Roles: {Owner.Roles}\r\nX-User-Id: {Owner.User}\r\nX-Identity-Status: Confirmed\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head));
        await socket.SendAsync(new byte[64 << 10]);
        // The upload is under way once the image says so.
        for (var i = 0; i < 50 && Expect.Str(await service.Client.ShowImageAsync(id, Owner), "status") != "saving"; i++)
        {
            await Task.Delay(20);
        }
        return socket;
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string? body = null, string? mediaType = null)
    {
        var request = new HttpRequestMessage(method, path);
        Owner.Apply(request);
        if (body is not null)
        {
            request.Content = GlanceClient.Body(body, mediaType);
        }
        return request;
    }

    private sealed class PatchedImage(string id)
    {
        public string Id { get; } = id;
        public int Sent { get; set; }
        public int Acknowledged { get; set; }
    }
}
