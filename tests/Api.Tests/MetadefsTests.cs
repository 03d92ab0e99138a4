using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// <c>/v2/metadefs</c> over HTTP (issue 9, item 3), with the answers the real Glance 25.1 gives:
/// every route, admin-only writes, private namespaces not found outside their project,
/// protected content, duplicates, the ten schemas, and the property definitions catalog as
/// the same data.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class MetadefsTests(ApiFixture fixture)
{
    private const string Namespaces = "/v2/metadefs/namespaces";
    private readonly GlanceClient _api = fixture.Client;

    private static string NewName(string label = "ns") => $"{label}::{Guid.NewGuid():N}";

    private async Task<string> CreateNamespaceAsync(string json)
    {
        var created = Expect.Status(await _api.PostJsonAsync(Namespaces, Persona.Admin, json), 201);
        return Expect.Str(created.Json, "namespace");
    }

    private static string Message(ApiResponse response) => Expect.Str(response.Json, "message");

    private static List<string> Names(JsonElement items) => [.. items.EnumerateArray().Select(i => Expect.Str(i, "name"))];

    [Fact]
    public async Task Resource_types_are_listed_with_images_first()
    {
        var types = Expect.Status(await _api.GetAsync("/v2/metadefs/resource_types", Persona.P1), 200).Json.GetProperty("resource_types");

        Assert.Equal("OS::Glance::Image", Expect.Str(types[0], "name"));
        Assert.Contains("OS::Nova::Flavor", Names(types));
        Assert.True(types[0].TryGetProperty("created_at", out _));
    }

    [Fact]
    public async Task A_namespace_named_outside_ascii_is_created_with_an_escaped_location_and_found_by_it()
    {
        var name = NewName() + "-\U0001F600é";
        var created = Expect.Status(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}", "visibility": "public"}"""), 201);
        Assert.EndsWith($"{Namespaces}/{Uri.EscapeDataString(name).Replace("%3A", ":", StringComparison.Ordinal)}", created.Header("Location"));
        Assert.Equal(name, Expect.Str(created.Json, "namespace"));
        Expect.Status(await _api.GetAsync(new Uri(created.Header("Location")!).PathAndQuery, Persona.P1), 200);
    }

    [Fact]
    public async Task A_namespace_is_created_with_its_contents_shown_listed_updated_and_deleted()
    {
        var name = NewName();
        var type = NewName("Test::Type");
        var body = $$"""
            {"namespace": "{{name}}", "display_name": "Test", "description": "d", "visibility": "public",
             "resource_type_associations": [{"name": "{{type}}", "prefix": "t_", "properties_target": "image"}],
             "properties": {"speed": {"title": "Speed", "type": "integer", "minimum": 1, "default": 2} },
             "objects": [{"name": "box", "required": ["size"], "properties": {"size": {"title": "Size", "type": "string"} } }],
             "tags": [{"name": "one"}, {"name": "two"}]}
            """;

        var created = Expect.Status(await _api.PostJsonAsync(Namespaces, Persona.Admin, body), 201);
        Assert.EndsWith($"{Namespaces}/{name}", created.Header("Location"));
        Assert.Equal(Persona.Admin.Project, Expect.Str(created.Json, "owner"));
        Assert.Equal("2", Expect.Str(created.Json.GetProperty("properties").GetProperty("speed"), "default"));
        Assert.Equal(["one", "two"], Names(created.Json.GetProperty("tags")));
        Assert.False(created.Json.GetProperty("objects")[0].TryGetProperty("created_at", out _));

        var shown = Expect.Status(await _api.GetAsync($"{Namespaces}/{name}", Persona.P1), 200).Json;
        Assert.Equal($"{Namespaces}/{name}", Expect.Str(shown, "self"));
        Assert.Equal("/v2/schemas/metadefs/namespace", Expect.Str(shown, "schema"));
        Assert.Equal(["two", "one"], Names(shown.GetProperty("tags"))); // newest first, as Glance
        var box = shown.GetProperty("objects")[0];
        Assert.Equal($"{Namespaces}/{name}/objects/box", Expect.Str(box, "self"));
        Assert.Equal("image", Expect.Str(shown.GetProperty("resource_type_associations")[0], "properties_target"));
        // As the resource type sees it: the names carry the association's prefix.
        var prefixed = Expect.Status(await _api.GetAsync($"{Namespaces}/{name}?resource_type={type}", Persona.P1), 200).Json;
        Assert.True(prefixed.GetProperty("properties").TryGetProperty("t_speed", out _));
        Assert.Equal("t_size", prefixed.GetProperty("objects")[0].GetProperty("required")[0].GetString());

        var listed = Expect.Status(await _api.GetAsync($"{Namespaces}?resource_types={type}", Persona.P2), 200).Json;
        var item = Assert.Single(listed.GetProperty("namespaces").EnumerateArray());
        Assert.False(item.TryGetProperty("properties", out _));
        Assert.Equal(type, Expect.Str(item.GetProperty("resource_type_associations")[0], "name"));
        Assert.Contains(type, Names(Expect.Status(await _api.GetAsync("/v2/metadefs/resource_types", Persona.P1), 200).Json.GetProperty("resource_types")));

        // An update replaces the namespace's own fields (absent ones take the defaults) and may rename it.
        var renamed = name + "-b";
        var updated = Expect.Status(await _api.PutJsonAsync($"{Namespaces}/{name}", Persona.Admin, $$"""{"namespace": "{{renamed}}", "protected": true}"""), 200).Json;
        Assert.Equal("private", Expect.Str(updated, "visibility"));
        Assert.False(updated.TryGetProperty("display_name", out _));
        Assert.False(updated.TryGetProperty("properties", out _));
        Expect.Error(await _api.GetAsync($"{Namespaces}/{name}", Persona.Admin), 404);
        Assert.Equal(2, Expect.Status(await _api.GetAsync($"{Namespaces}/{renamed}/tags", Persona.Admin), 200).Json.GetProperty("tags").GetArrayLength());

        var refused = Expect.Error(await _api.DeleteAsync($"{Namespaces}/{renamed}", Persona.Admin), 403);
        Assert.Equal($"Metadata definition namespace {renamed} is protected and cannot be deleted.", Message(refused));
        Expect.Status(await _api.PutJsonAsync($"{Namespaces}/{renamed}", Persona.Admin, $$"""{"namespace": "{{renamed}}"}"""), 200);
        Expect.Status(await _api.DeleteAsync($"{Namespaces}/{renamed}", Persona.Admin), 204);
        Assert.Equal($"Namespace {renamed} not found", Message(Expect.Error(await _api.DeleteAsync($"{Namespaces}/{renamed}", Persona.Admin), 404)));
    }

    [Fact]
    public async Task Members_may_read_but_not_write()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}", "visibility": "public"}""");
        var path = $"{Namespaces}/{name}";

        var refused = Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.P1, $$"""{"namespace": "{{NewName()}}"}"""), 403);
        Assert.Equal("You are not authorized to complete add_metadef_namespace action.", Message(refused));
        var writes = new (HttpMethod Method, string Path, string? Body, string Action)[]
        {
            (HttpMethod.Put, path, $$"""{"namespace": "{{name}}"}""", "modify_metadef_namespace"),
            (HttpMethod.Delete, path, null, "delete_metadef_namespace"),
            (HttpMethod.Post, path + "/objects", """{"name": "o"}""", "add_metadef_object"),
            (HttpMethod.Post, path + "/properties", """{"name": "p", "title": "P", "type": "string"}""", "add_metadef_property"),
            (HttpMethod.Post, path + "/tags/t", null, "add_metadef_tag"),
            (HttpMethod.Post, path + "/tags", """{"tags": [{"name": "t"}]}""", "add_metadef_tags"),
            (HttpMethod.Post, path + "/resource_types", """{"name": "OS::Nova::Flavor"}""", "add_metadef_resource_type_association"),
            (HttpMethod.Delete, path + "/tags", null, "delete_metadef_namespace"),
        };
        foreach (var (method, target, body, action) in writes)
        {
            var answer = await _api.SendAsync(method, target, Persona.P1, body is null ? null : GlanceClient.Body(body, "application/json"));
            Assert.Equal($"You are not authorized to complete {action} action.", Message(Expect.Error(answer, 403)));
        }
        Expect.Status(await _api.GetAsync(path, Persona.P1), 200);
    }

    [Fact]
    public async Task A_private_namespace_of_another_project_is_not_found()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}", "owner": "{{Persona.P1.Project}}", "properties": {"p": {"title": "P", "type": "string"} } }""");
        var path = $"{Namespaces}/{name}";

        Assert.Equal("private", Expect.Str(Expect.Status(await _api.GetAsync(path, Persona.P1), 200).Json, "visibility"));
        Assert.Equal("The resource could not be found.", Message(Expect.Error(await _api.GetAsync(path, Persona.P2), 404)));
        foreach (var sub in new[] { "/objects", "/properties", "/properties/p", "/tags", "/resource_types" })
        {
            Assert.Equal($"Namespace {name} not found", Message(Expect.Error(await _api.GetAsync(path + sub, Persona.P2), 404)));
        }
        Expect.Error(await _api.DeleteAsync(path, Persona.P2), 404);
        Assert.DoesNotContain(name, await ListedAsync("?limit=1000", Persona.P2));
        Assert.Contains(name, await ListedAsync("?limit=1000&visibility=private", Persona.P1));
        Assert.Equal("Metadata definition namespace=nope-x was not found.", Message(Expect.Error(await _api.GetAsync($"{Namespaces}/nope-x", Persona.P1), 404)));
        // As a marker, Glance says 403 for a namespace it does not show.
        Expect.Error(await _api.GetAsync($"{Namespaces}?marker={Uri.EscapeDataString(name)}", Persona.P2), 403);
    }

    private async Task<List<string>> ListedAsync(string query, Persona caller) =>
        [.. Expect.Status(await _api.GetAsync(Namespaces + query, caller), 200).Json.GetProperty("namespaces").EnumerateArray()
            .Select(n => Expect.Str(n, "namespace"))];

    [Fact]
    public async Task The_namespace_list_sorts_pages_and_links_like_Glance()
    {
        var tag = $"pg{Guid.NewGuid():N}";
        var names = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            names.Add(await CreateNamespaceAsync($$"""{"namespace": "{{tag}}-{{i}}", "visibility": "public", "resource_type_associations": [{"name": "{{tag}}"}]}"""));
        }

        var first = Expect.Status(await _api.GetAsync($"{Namespaces}?resource_types={tag}&sort_key=namespace&sort_dir=asc&limit=2", Persona.P1), 200).Json;
        Assert.Equal(names[..2], first.GetProperty("namespaces").EnumerateArray().Select(n => Expect.Str(n, "namespace")));
        Assert.Equal($"{Namespaces}?resource_types={tag}&sort_key=namespace&sort_dir=asc&limit=2", Expect.Str(first, "first"));
        var next = Expect.Str(first, "next");
        Assert.Equal($"{Namespaces}?resource_types={tag}&sort_key=namespace&sort_dir=asc&limit=2&marker={names[1]}", next);
        Assert.Equal("/v2/schemas/metadefs/namespaces", Expect.Str(first, "schema"));
        var second = Expect.Status(await _api.GetAsync(next, Persona.P1), 200).Json;
        Assert.Equal([names[2]], second.GetProperty("namespaces").EnumerateArray().Select(n => Expect.Str(n, "namespace")));
        Assert.False(second.TryGetProperty("next", out _));
        // Newest first by default.
        Assert.Equal(Enumerable.Reverse(names), await ListedAsync($"?resource_types={tag}", Persona.P1));

        Assert.Equal("Invalid sort direction: up", Message(Expect.Error(await _api.GetAsync($"{Namespaces}?sort_dir=up", Persona.P1), 400)));
        Assert.Equal("Invalid visibility value: all", Message(Expect.Error(await _api.GetAsync($"{Namespaces}?visibility=all", Persona.P1), 400)));
        Assert.Equal("limit param must be positive", Message(Expect.Error(await _api.GetAsync($"{Namespaces}?limit=-1", Persona.P1), 400)));
        Expect.Error(await _api.GetAsync($"{Namespaces}?limit=x", Persona.P1), 400);
        Expect.Error(await _api.GetAsync($"{Namespaces}?sort_key=colour", Persona.P1), 400);
        Expect.Error(await _api.GetAsync($"{Namespaces}?marker=nope-{tag}", Persona.P1), 404);
    }

    [Fact]
    public async Task Objects_are_created_listed_shown_updated_and_deleted()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}"}""");
        var objects = $"{Namespaces}/{name}/objects";

        var created = Expect.Status(await _api.PostJsonAsync(objects, Persona.Admin,
            """{"name": "o1", "description": "d", "required": ["p"], "properties": {"p": {"title": "P", "type": "boolean"}}}"""), 201).Json;
        Assert.Equal($"{objects}/o1", Expect.Str(created, "self"));
        Expect.Status(await _api.PostJsonAsync(objects, Persona.Admin, """{"name": "o2"}"""), 201);
        var duplicate = Expect.Error(await _api.PostJsonAsync(objects, Persona.Admin, """{"name": "o1"}"""), 409);
        Assert.Equal($"A metadata definition object with name=o1 already exists in namespace={name}.", Message(duplicate));
        Expect.Error(await _api.PostJsonAsync(objects, Persona.Admin, """{"name": "o3", "properties": {"p": {"type": "string"}}}"""), 400);
        Assert.Equal("Attribute 'self' is read-only.", Message(Expect.Error(await _api.PostJsonAsync(objects, Persona.Admin, """{"name": "o3", "self": "x"}"""), 403)));

        var list = Expect.Status(await _api.GetAsync(objects, Persona.Admin), 200).Json;
        Assert.Equal(["o1", "o2"], Names(list.GetProperty("objects")));
        Assert.Equal("v2/schemas/metadefs/objects", Expect.Str(list, "schema"));
        var plain = Expect.Status(await _api.GetAsync($"{objects}/o2", Persona.Admin), 200).Json;
        Assert.Equal(0, plain.GetProperty("required").GetArrayLength());
        Assert.Equal(JsonValueKind.Object, plain.GetProperty("properties").ValueKind);

        var updated = Expect.Status(await _api.PutJsonAsync($"{objects}/o1", Persona.Admin, """{"name": "o1b", "description": "new"}"""), 200).Json;
        Assert.Equal("o1b", Expect.Str(updated, "name"));
        Assert.False(updated.TryGetProperty("properties", out _));
        Assert.Empty(Expect.Status(await _api.GetAsync($"{objects}/o1b", Persona.Admin), 200).Json.GetProperty("properties").EnumerateObject());
        Expect.Error(await _api.PutJsonAsync($"{objects}/o1b", Persona.Admin, """{"name": "o2"}"""), 409);
        Assert.Equal("Could not find metadata object o1", Message(Expect.Error(await _api.GetAsync($"{objects}/o1", Persona.Admin), 404)));

        Expect.Status(await _api.DeleteAsync($"{objects}/o1b", Persona.Admin), 204);
        Expect.Error(await _api.DeleteAsync($"{objects}/o1b", Persona.Admin), 404);
        Expect.Status(await _api.DeleteAsync(objects, Persona.Admin), 204);
        Assert.Equal(0, Expect.Status(await _api.GetAsync(objects, Persona.Admin), 200).Json.GetProperty("objects").GetArrayLength());
    }

    [Fact]
    public async Task Properties_are_created_listed_shown_updated_and_deleted()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}", "visibility": "public", "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "hw:"}]}""");
        var properties = $"{Namespaces}/{name}/properties";

        var created = Expect.Status(await _api.PostJsonAsync(properties, Persona.Admin,
            """{"name": "cpu_policy", "title": "CPU policy", "type": "string", "enum": ["shared", "dedicated"], "default": "shared"}"""), 201).Json;
        Assert.Equal("cpu_policy", Expect.Str(created, "name"));
        var duplicate = Expect.Error(await _api.PostJsonAsync(properties, Persona.Admin, """{"name": "cpu_policy", "title": "x", "type": "string"}"""), 409);
        Assert.Equal($"A metadata definition property with name=cpu_policy already exists in namespace={name}.", Message(duplicate));
        var missing = Expect.Error(await _api.PostJsonAsync(properties, Persona.Admin, """{"name": "y", "type": "string"}"""), 400);
        Assert.Equal("Provided object does not match schema 'property': 'title' is a required property", Message(missing));
        var badType = Expect.Error(await _api.PostJsonAsync(properties, Persona.Admin, """{"name": "y", "title": "Y", "type": "colour"}"""), 400);
        Assert.Contains("'colour' is not one of ['array', 'boolean', 'integer', 'number', 'object', 'string', None]", Message(badType));
        Expect.Error(await _api.PostJsonAsync(properties, Persona.Admin, """{"name": "y", "title": "Y", "type": "string", "extra": 1}"""), 400);

        var list = Expect.Status(await _api.GetAsync(properties, Persona.P1), 200).Json.GetProperty("properties");
        Assert.Equal("dedicated", list.GetProperty("cpu_policy").GetProperty("enum")[1].GetString());
        Assert.Equal("cpu_policy", Expect.Str(Expect.Status(await _api.GetAsync($"{properties}/hw:cpu_policy?resource_type=OS::Nova::Flavor", Persona.P1), 200).Json, "name"));
        var unprefixed = Expect.Error(await _api.GetAsync($"{properties}/cpu_policy?resource_type=OS::Nova::Flavor", Persona.P1), 404);
        Assert.Equal("Property cpu_policy does not start with the expected resource type association prefix of 'hw:'.", Message(unprefixed));
        Assert.Equal("Could not find property nope", Message(Expect.Error(await _api.GetAsync($"{properties}/nope", Persona.P1), 404)));

        var updated = Expect.Status(await _api.PutJsonAsync($"{properties}/cpu_policy", Persona.Admin,
            """{"name": "cpu_thread_policy", "title": "Threads", "type": "string"}"""), 200).Json;
        Assert.False(updated.TryGetProperty("enum", out _));
        Expect.Error(await _api.GetAsync($"{properties}/cpu_policy", Persona.P1), 404);
        Expect.Status(await _api.DeleteAsync($"{properties}/cpu_thread_policy", Persona.Admin), 204);
        Expect.Error(await _api.DeleteAsync($"{properties}/cpu_thread_policy", Persona.Admin), 404);
        Expect.Status(await _api.PostJsonAsync(properties, Persona.Admin, """{"name": "a", "title": "A", "type": "string"}"""), 201);
        Expect.Status(await _api.DeleteAsync(properties, Persona.Admin), 204);
        Assert.Empty(Expect.Status(await _api.GetAsync(properties, Persona.P1), 200).Json.GetProperty("properties").EnumerateObject());
    }

    [Fact]
    public async Task Tags_are_created_one_by_one_or_together_renamed_and_deleted()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}", "visibility": "public"}""");
        var tags = $"{Namespaces}/{name}/tags";

        var one = Expect.Status(await _api.SendAsync(HttpMethod.Post, $"{tags}/first", Persona.Admin), 201).Json;
        Assert.Equal("first", Expect.Str(one, "name"));
        Assert.True(one.TryGetProperty("created_at", out _));
        var again = Expect.Error(await _api.SendAsync(HttpMethod.Post, $"{tags}/FIRST", Persona.Admin), 409);
        Assert.Equal($"A metadata tag with name=FIRST already exists in namespace={name}. (Please note that metadata tag names are case insensitive).", Message(again));
        Expect.Error(await _api.SendAsync(HttpMethod.Post, $"{tags}/{new string('t', 81)}", Persona.Admin), 400);

        // Without X-Openstack-Append the list replaces the tags; with it, it adds to them.
        Assert.Equal(["a", "b"], Names(Expect.Status(await _api.PostJsonAsync(tags, Persona.Admin, """{"tags": [{"name": "a"}, {"name": "b"}]}"""), 201).Json.GetProperty("tags")));
        Assert.Equal(["b", "a"], Names(Expect.Status(await _api.GetAsync(tags, Persona.P1), 200).Json.GetProperty("tags")));
        Expect.Status(await _api.SendAsync(HttpMethod.Post, tags, Persona.Admin, GlanceClient.Body("""{"tags": [{"name": "c"}]}""", "application/json"),
            new Dictionary<string, string> { ["X-Openstack-Append"] = "True" }), 201);
        Assert.Equal(["c", "b", "a"], Names(Expect.Status(await _api.GetAsync(tags, Persona.P1), 200).Json.GetProperty("tags")));
        Expect.Error(await _api.SendAsync(HttpMethod.Post, tags, Persona.Admin, GlanceClient.Body("""{"tags": [{"name": "A"}]}""", "application/json"),
            new Dictionary<string, string> { ["X-Openstack-Append"] = "yes" }), 409);
        Expect.Error(await _api.PostJsonAsync(tags, Persona.Admin, """{"tags": [{"name": "d"}, {"name": "d"}]}"""), 409);
        Expect.Error(await _api.PostJsonAsync(tags, Persona.Admin, """{"tags": [{"nam": "d"}]}"""), 400);

        var page = Expect.Status(await _api.GetAsync($"{tags}?sort_key=name&sort_dir=asc&limit=2&marker=a", Persona.P1), 200).Json;
        Assert.Equal(["b", "c"], Names(page.GetProperty("tags")));
        Assert.Equal("Could not find metadata tag zz", Message(Expect.Error(await _api.GetAsync($"{tags}?marker=zz", Persona.P1), 404)));

        var renamed = Expect.Status(await _api.PutJsonAsync($"{tags}/a", Persona.Admin, """{"name": "a2"}"""), 200).Json;
        Assert.Equal("a2", Expect.Str(renamed, "name"));
        Expect.Error(await _api.PutJsonAsync($"{tags}/a2", Persona.Admin, """{"name": "B"}"""), 409);
        Assert.Equal("a2", Expect.Str(Expect.Status(await _api.GetAsync($"{tags}/a2", Persona.P1), 200).Json, "name"));
        Expect.Status(await _api.DeleteAsync($"{tags}/a2", Persona.Admin), 204);
        Assert.Equal("Could not find metadata tag a2", Message(Expect.Error(await _api.GetAsync($"{tags}/a2", Persona.P1), 404)));
        Expect.Status(await _api.DeleteAsync(tags, Persona.Admin), 204);
        Assert.Empty(Names(Expect.Status(await _api.GetAsync(tags, Persona.P1), 200).Json.GetProperty("tags")));
    }

    [Fact]
    public async Task Resource_type_associations_are_created_listed_and_deleted()
    {
        var name = await CreateNamespaceAsync($$"""{"namespace": "{{NewName()}}"}""");
        var associations = $"{Namespaces}/{name}/resource_types";

        var created = Expect.Status(await _api.PostJsonAsync(associations, Persona.Admin, """{"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}"""), 201).Json;
        Assert.Equal("hw_", Expect.Str(created, "prefix"));
        var duplicate = Expect.Error(await _api.PostJsonAsync(associations, Persona.Admin, """{"name": "OS::Cinder::Volume"}"""), 409);
        Assert.Equal($"The metadata definition resource-type association of resource-type=OS::Cinder::Volume to namespace={name} already exists.", Message(duplicate));
        Assert.Equal("Attribute 'created_at' is read-only.",
            Message(Expect.Error(await _api.PostJsonAsync(associations, Persona.Admin, """{"name": "X", "created_at": "now"}"""), 403)));

        Assert.Equal(["OS::Cinder::Volume"], Names(Expect.Status(await _api.GetAsync(associations, Persona.Admin), 200).Json.GetProperty("resource_type_associations")));
        Expect.Status(await _api.DeleteAsync($"{associations}/OS::Cinder::Volume", Persona.Admin), 204);
        Assert.Equal("Failed to find resource type OS::Cinder::Volume to delete",
            Message(Expect.Error(await _api.DeleteAsync($"{associations}/OS::Cinder::Volume", Persona.Admin), 404)));
        Assert.Empty(Names(Expect.Status(await _api.GetAsync(associations, Persona.Admin), 200).Json.GetProperty("resource_type_associations")));
    }

    [Fact]
    public async Task Protected_contents_are_not_deleted_one_by_one_or_all_together()
    {
        var name = await CreateNamespaceAsync($$"""
            {"namespace": "{{NewName()}}", "protected": true, "resource_type_associations": [{"name": "OS::Nova::Flavor"}],
             "properties": {"p": {"title": "P", "type": "string"} }, "objects": [{"name": "o"}], "tags": [{"name": "t"}]}
            """);
        var path = $"{Namespaces}/{name}";

        var cases = new (string Path, string Message)[]
        {
            ($"{path}/objects/o", "Metadata definition object o is protected and cannot be deleted."),
            ($"{path}/properties/p", "Metadata definition property p is protected and cannot be deleted."),
            ($"{path}/tags/t", "Metadata definition tag t is protected and cannot be deleted."),
            ($"{path}/resource_types/OS::Nova::Flavor", "Metadata definition resource-type-association OS::Nova::Flavor is protected and cannot be deleted."),
            ($"{path}/objects", $"Metadata definition namespace {name} is protected and cannot be deleted."),
            ($"{path}/properties", $"Metadata definition namespace {name} is protected and cannot be deleted."),
            ($"{path}/tags", $"Metadata definition namespace {name} is protected and cannot be deleted."),
        };
        foreach (var (target, message) in cases)
        {
            Assert.Equal(message, Message(Expect.Error(await _api.DeleteAsync(target, Persona.Admin), 403)));
        }
        var shown = Expect.Status(await _api.GetAsync(path, Persona.Admin), 200).Json;
        Assert.Equal(1, shown.GetProperty("objects").GetArrayLength());
        Expect.Status(await _api.PutJsonAsync(path, Persona.Admin, $$"""{"namespace": "{{name}}", "protected": false}"""), 200);
        Expect.Status(await _api.DeleteAsync(path, Persona.Admin), 204);
    }

    [Fact]
    public async Task Bodies_are_held_to_the_published_schemas()
    {
        var name = NewName();

        Assert.Equal("Provided object does not match schema 'namespace': 'secret' is not one of ['public', 'private']",
            Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}", "visibility": "secret"}"""), 400)));
        Assert.Equal("Provided object does not match schema 'namespace': Additional properties are not allowed ('colour' was unexpected)",
            Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}", "colour": 1}"""), 400)));
        Assert.Equal("Provided object does not match schema 'namespace': 'namespace' is a required property",
            Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, """{"display_name": "x"}"""), 400)));
        Assert.Contains("is too long", Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{new string('n', 81)}}"}"""), 400)));
        Assert.Equal("Attribute 'schema' is read-only.",
            Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}", "schema": "x"}"""), 403)));
        Assert.Equal("Body expected in request.", Message(Expect.Error(await _api.SendAsync(HttpMethod.Post, Namespaces, Persona.Admin), 400)));
        Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, "not json"), 400);
        // A failed create leaves nothing behind.
        Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}", "objects": [{"name": "o"}, {"name": "o"}]}"""), 409);
        Expect.Error(await _api.GetAsync($"{Namespaces}/{name}", Persona.Admin), 404);
        await CreateNamespaceAsync($$"""{"namespace": "{{name}}"}""");
        Assert.Equal($"The metadata definition namespace={name} already exists.",
            Message(Expect.Error(await _api.PostJsonAsync(Namespaces, Persona.Admin, $$"""{"namespace": "{{name}}"}"""), 409)));
    }

    [Theory]
    [InlineData("namespace", "namespace")]
    [InlineData("namespaces", "namespaces")]
    [InlineData("object", "object")]
    [InlineData("objects", "objects")]
    [InlineData("property", "property")]
    [InlineData("properties", "properties")]
    [InlineData("tag", "tag")]
    [InlineData("tags", "tags")]
    [InlineData("resource_type", "resource_type_association")]
    [InlineData("resource_types", "resource_type_associations")]
    public async Task The_ten_metadefs_schemas_are_served(string path, string name)
    {
        var schema = Expect.Status(await _api.GetAsync($"/v2/schemas/metadefs/{path}", Persona.P1), 200);

        Assert.Equal("application/json", schema.MediaType);
        Assert.Equal(name, Expect.Str(schema.Json, "name"));
        Assert.Equal(JsonValueKind.Object, schema.Json.GetProperty("properties").ValueKind);
    }

    [Fact]
    public async Task Property_definitions_are_the_properties_of_public_image_namespaces()
    {
        // The seeded hw_cpu_cores is cpu_cores of OS::Compute::CPUTopology, prefix hw_.
        var cores = Expect.Status(await _api.GetAsync($"{Namespaces}/OS::Compute::CPUTopology/properties/hw_cpu_cores?resource_type=OS::Glance::Image", Persona.P1), 200).Json;
        Assert.Equal(1024, cores.GetProperty("maximum").GetInt32());
        Assert.Equal(1024, Expect.Status(await _api.GetAsync("/v2/property-definitions/hw_cpu_cores", Persona.P1), 200).Json.GetProperty("maximum").GetInt32());

        // A metadef property becomes a definition, and shows in the image schema.
        var prefix = $"md{Guid.NewGuid():N}_";
        var name = await CreateNamespaceAsync($$"""
            {"namespace": "{{NewName()}}", "visibility": "public", "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "{{prefix}}"}],
             "properties": {"speed": {"title": "Speed", "type": "integer", "description": "How fast."} } }
            """);
        var definition = Expect.Status(await _api.GetAsync($"/v2/property-definitions/{prefix}speed", Persona.P1), 200).Json;
        Assert.Equal("integer", Expect.Str(definition, "type"));
        Assert.False(definition.GetProperty("enforced").GetBoolean());
        var schema = Expect.Status(await _api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");
        Assert.Equal("How fast.", Expect.Str(schema.GetProperty(prefix + "speed"), "description"));

        // A definition written as such is the metadef property.
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{prefix}speed", Persona.Admin, """{"type": "integer", "maximum": 9}"""), 200);
        var property = Expect.Status(await _api.GetAsync($"{Namespaces}/{name}/properties/speed", Persona.P1), 200).Json;
        Assert.Equal(9, property.GetProperty("maximum").GetInt32());
        Assert.Equal("Speed", Expect.Str(property, "title"));
        Expect.Status(await _api.DeleteAsync($"{Namespaces}/{name}/properties/speed", Persona.Admin), 204);
        Expect.Error(await _api.GetAsync($"/v2/property-definitions/{prefix}speed", Persona.P1), 404);

        // A new definition goes to the default namespace.
        var fresh = $"md_{Guid.NewGuid():N}";
        Expect.Status(await _api.PutJsonAsync($"/v2/property-definitions/{fresh}", Persona.Admin, """{"type": "string", "enum": ["x"]}"""), 201);
        var stored = Expect.Status(await _api.GetAsync($"{Namespaces}/OS::Glance::PropertyDefinitions/properties/{fresh}", Persona.P2), 200).Json;
        Assert.Equal("x", stored.GetProperty("enum")[0].GetString());
        Expect.Status(await _api.DeleteAsync($"/v2/property-definitions/{fresh}", Persona.Admin), 204);
        Expect.Error(await _api.GetAsync($"{Namespaces}/OS::Glance::PropertyDefinitions/properties/{fresh}", Persona.P2), 404);
    }

    /// <summary>Seeded metadefs of every type describe: a value is shown as sent even where its type would write it otherwise.</summary>
    [Theory]
    [InlineData("hw_vif_multiqueue_enabled", "True")]
    [InlineData("hw_boot_menu", "false")]
    [InlineData("os_require_quiesce", "yes")]
    [InlineData("hw_cpu_cores", "04")]
    [InlineData("hw_cpu_sockets", "2")]
    [InlineData("hw_video_ram", "-1")]
    [InlineData("hw_watchdog_action", "explode")]
    public async Task Seeded_metadefs_never_change_or_refuse_a_value(string name, string value)
    {
        Assert.False(Expect.Status(await _api.GetAsync($"/v2/property-definitions/{name}", Persona.P1), 200).Json.GetProperty("enforced").GetBoolean());

        var created = await _api.CreateImageAsync(Persona.P1, new Dictionary<string, string> { ["name"] = "md-values", [name] = value });
        Assert.Equal(value, Expect.Str(created, name));
        var id = Expect.Str(created, "id");
        var patched = Expect.Status(await _api.PatchAsync($"/v2/images/{id}", Persona.P1,
            GlanceClient.Json(new[] { new { op = "replace", path = "/" + name, value } })), 200).Json;
        Assert.Equal(value, Expect.Str(patched, name));
    }
}
