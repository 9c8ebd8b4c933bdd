#include "testdata/vectors.h"

#include <fstream>
#include <iterator>

#include "google/protobuf/util/json_util.h"

namespace vantage::testdata {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::vector<Struct> LoadRows() {
  std::ifstream in(kVectorsPath, std::ios::binary);
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ListValue list;
  std::vector<Struct> rows;
  if (!google::protobuf::util::JsonStringToMessage(json, &list).ok()) return rows;
  for (const Value& v : list.values()) rows.push_back(v.struct_value());
  return rows;
}

const Value& Field(const Struct& s, const std::string& name) {
  static const Value* const kNull = new Value();
  auto it = s.fields().find(name);
  return it == s.fields().end() ? *kNull : it->second;
}

std::vector<std::string> Strings(const Value& v) {
  std::vector<std::string> out;
  for (const Value& e : v.list_value().values()) out.push_back(e.string_value());
  return out;
}

}  // namespace vantage::testdata
